import { describe, expect, it } from "vitest";
import { StackNodata } from "../../lib/contracts/stack.header.ts";
import { decodeChunkSync, parseStackHeader } from "../../lib/pipeline/stack.format.ts";
import { encodeStack } from "../../lib/pipeline/stack.writer.ts";
import { seededRandom } from "../../lib/random.ts";
import { sharedArray } from "../../lib/threads/task.pool.ts";

describe("encodeStack", () => {
  // Neither side a multiple of the chunk, so the last row and column of chunks are partly past the edge.
  const grid = { epsg: 5070, origin: [0, 0] as [number, number], pixelSize: 30, width: 250, height: 130 };
  const chunk = 112;
  const random = seededRandom(7);
  const planes = Array.from({ length: 4 }, () =>
    Int16Array.from({ length: grid.width * grid.height }, () => Math.floor(random() * 20000) - 10000),
  );

  it("cuts planes into chunks on the staging threads that decode back to them, StackNodata past the edge", async () => {
    const file = await encodeStack(planes, grid, chunk, 123);
    const header = parseStackHeader(file);
    if ("needBytes" in header) throw new Error("header incomplete");
    expect(header).toMatchObject({
      channels: 4,
      chunk,
      chunksAcross: 3,
      chunksDown: 2,
      validPixels: 123,
      grid,
    });
    let wrong = 0;
    for (let cy = 0; cy < header.chunksDown; cy++)
      for (let cx = 0; cx < header.chunksAcross; cx++) {
        const [offset, length] = header.chunks[cy * header.chunksAcross + cx] as [number, number];
        const values = decodeChunkSync(header, file.subarray(offset, offset + length));
        for (const [c, plane] of planes.entries())
          for (let y = 0; y < chunk; y++)
            for (let x = 0; x < chunk; x++) {
              const gx = cx * chunk + x;
              const gy = cy * chunk + y;
              const expected =
                gx < grid.width && gy < grid.height ? plane[gy * grid.width + gx] : StackNodata;
              if (values[(c * chunk + y) * chunk + x] !== expected) wrong++;
            }
      }
    expect(wrong).toBe(0);
  });

  it("writes the same bytes from planes on shared memory as from plain ones", async () => {
    const shared = planes.map((p) => {
      const s = sharedArray(Int16Array, p.length);
      s.set(p);
      return s;
    });
    const plain = await encodeStack(planes, grid, chunk, 0);
    expect((await encodeStack(shared, grid, chunk, 0)).equals(plain)).toBe(true);
  });
});
