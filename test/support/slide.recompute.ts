import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { StackNodata } from "../../lib/contracts/stack.header.ts";
import type { S3Location } from "../../lib/core/s3.url.ts";
import { windowStarts } from "../../lib/pipeline/sliding.window.ts";
import { readChunkRow, readStackHeader } from "../../lib/pipeline/stack.reader.ts";

/** The one stack staged under a work location (a test's single tile): its bucket and full key. */
export async function stagedStack(s3: S3Client, work: S3Location): Promise<{ bucket: string; key: string }> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: work.bucket, Prefix: work.prefix }));
  const key = listed.Contents?.map((o) => o.Key ?? "").find((k) => k.endsWith(".stack"));
  if (!key) throw new Error(`no stack under s3://${work.bucket}/${work.prefix}`);
  return { bucket: work.bucket, key };
}

/**
 * A tile's map recomputed independently of the pipeline's code: chips straight from the staged
 * stack with the manifest's normalisation (time-major: channel c is band c % 6, nodata 0), every
 * window of mmsegmentation's slide (the last moved back to the edge), one at a time through `run`,
 * logits summed; then the argmax compared with the pipeline's map where it mapped a pixel.
 */
export async function recomputedAgreement(
  s3: S3Client,
  stack: { bucket: string; key: string },
  model: {
    normalization: { mean: readonly number[]; std: readonly number[] };
    chip: { size: number; stride: number };
    classes: readonly { id: number }[];
    input: { channels: number };
  },
  map: Uint8Array,
  run: (chip: Float32Array, x0: number, y0: number) => Promise<Float32Array>,
): Promise<{ compared: number; equal: number }> {
  const header = await readStackHeader(s3, stack);
  const { width, height } = header.grid;
  const { size, stride } = model.chip;
  const channels = model.input.channels;
  const classes = model.classes.length;
  const k = header.chunk;
  const plane = size * size;
  const sums = new Float32Array(classes * width * height);
  const chunkRows = new Map<number, Awaited<ReturnType<typeof readChunkRow>>>();
  for (let cy = 0; cy < header.chunksDown; cy++) chunkRows.set(cy, await readChunkRow(s3, stack, header, cy));
  for (const y0 of windowStarts(height, size, stride)) {
    for (const x0 of windowStarts(width, size, stride)) {
      const chip = new Float32Array(channels * plane);
      for (let c = 0; c < channels; c++) {
        const mean = model.normalization.mean[c % 6] as number;
        const std = model.normalization.std[c % 6] as number;
        for (let dy = 0; dy < size; dy++) {
          for (let dx = 0; dx < size; dx++) {
            const [x, y] = [x0 + dx, y0 + dy];
            const chunk = chunkRows.get(Math.floor(y / k))?.data[Math.floor(x / k)] as Int16Array;
            const v = chunk[c * k * k + (y % k) * k + (x % k)] as number;
            chip[c * plane + dy * size + dx] = v === StackNodata ? 0 : (v - mean) / std;
          }
        }
      }
      const logits = await run(chip, x0, y0);
      for (let c = 0; c < classes; c++)
        for (let dy = 0; dy < size; dy++)
          for (let dx = 0; dx < size; dx++) {
            const at = (c * height + y0 + dy) * width + x0 + dx;
            sums[at] = (sums[at] as number) + (logits[c * plane + dy * size + dx] as number);
          }
    }
  }
  let compared = 0;
  let equal = 0;
  for (let i = 0; i < width * height; i++) {
    if (map[i] === 0) continue;
    let best = 0;
    for (let c = 1; c < classes; c++)
      if ((sums[c * width * height + i] as number) > (sums[best * width * height + i] as number)) best = c;
    compared++;
    if (map[i] === model.classes[best]?.id) equal++;
  }
  return { compared, equal };
}
