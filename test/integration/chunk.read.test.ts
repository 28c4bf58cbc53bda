import { afterAll, describe, expect, it } from "vitest";
import { StackNodata } from "../../lib/contracts/stack.header.ts";
import { readRow, splitRowTask } from "../../lib/pipeline/chunk.decode.ts";
import { chunkRowRange, readChunks, readStackHeader } from "../../lib/pipeline/stack.reader.ts";
import { encodeStack } from "../../lib/pipeline/stack.writer.ts";
import { sharedWindowRow, type WindowRow, windowRow } from "../../lib/pipeline/window.input.ts";
import { seededRandom } from "../../lib/random.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { putBytes, ref } from "../../lib/storage/s3.objects.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("chunkread");
const s3 = createS3Client(config);
const normalization = { mean: [500, 800, 900, 3000, 2600, 1700], std: [280, 350, 570, 900, 950, 920] };

afterAll(() => s3.destroy());

/** A row's arrays as bytes, to compare rows decoded by different paths. */
const bytesOf = (row: WindowRow) =>
  Buffer.concat(
    [...row.normalized, ...row.valid].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)),
  );

describe("a staged stack's chunk rows read on decode threads", () => {
  it("decode the same, read whole or in runs of chunks side by side, as the main thread's path", async () => {
    // 5 x 3 chunks of 16 px with a ragged right and bottom edge, random values and holes.
    const random = seededRandom(7);
    const grid = {
      epsg: 32619,
      origin: [300000, 4700000] as [number, number],
      pixelSize: 30,
      width: 75,
      height: 40,
    };
    const planes = Array.from({ length: 18 }, () =>
      Int16Array.from({ length: grid.width * grid.height }, () =>
        random() < 0.05 ? StackNodata : Math.round(random() * 6000),
      ),
    );
    const stack = ref(config.storage.work, "chunkread/stack");
    await putBytes(s3, stack, await encodeStack(planes, grid, 16, 0), "application/octet-stream");
    const header = await readStackHeader(s3, stack);
    expect(header.chunksAcross).toBe(5);
    const { channels, chunk } = header;

    for (let cy = 0; cy < header.chunksDown; cy++) {
      const expected = bytesOf(windowRow(header, await readChunks(s3, stack, header, cy), normalization));
      const task = {
        storage: config,
        stack,
        header: { channels, chunk },
        ...chunkRowRange(header, cy),
        normalization,
      };
      for (const parts of [1, 2, 3]) {
        const into = sharedWindowRow(header);
        // Noise where the row goes: every byte of it must be written.
        for (const a of into.normalized) a.fill(Number.NaN);
        for (const a of into.valid) a.fill(7);
        const split = splitRowTask({ ...task, into }, parts);
        expect(split).toHaveLength(parts);
        const read = await Promise.all(split.map((part) => readRow(part)));
        expect(bytesOf(into).equals(expected), `row ${cy} in ${parts} parts`).toBe(true);
        expect(read.reduce((a, b) => a + b, 0)).toBe(task.range[1] - task.range[0] + 1);
      }
    }
  });
});
