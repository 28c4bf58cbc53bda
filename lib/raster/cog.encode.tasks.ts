/**
 * Task-thread side of the strip COG writer (see cog.strip.writer.ts and raster.tasks.ts):
 * a share of one tile row of a level cut, predicted and deflated, and the same columns halved for
 * the next level, so encoding and halving run on every core, not on the thread that mosaics.
 */
import { deflateSync } from "node:zlib";
import { cutTile } from "./cog.writer.ts";
import { halveColumns, type Resampling } from "./overviews.ts";
import type { PixelArray } from "./raster.types.ts";

export interface EncodeRowJob {
  /** The level's rows (one tile row or fewer), on shared memory. */
  data: PixelArray;
  width: number;
  rows: number;
  size: number;
  fill: number;
  predictor: boolean;
  level: number;
  /** The tiles [tx0, tx1) of the row to encode. */
  tx0: number;
  tx1: number;
  /** Where the same columns go halved (the next level's rows, on shared memory), if there is one. */
  half?: { out: PixelArray; mode: Resampling; nodata?: number };
}

/** This thread's tile before compression, reused from tile to tile (deflate copies what it keeps). */
let scratch: PixelArray | undefined;

export function encodeRow(job: EncodeRowJob): Buffer[] {
  const { data, width, rows, size, half } = job;
  if (scratch?.constructor !== data.constructor || scratch.length !== size * size)
    scratch = new (data.constructor as new (n: number) => PixelArray)(size * size);
  const tiles: Buffer[] = [];
  for (let tx = job.tx0; tx < job.tx1; tx++)
    tiles.push(
      deflateSync(cutTile(data, width, rows, tx, 0, size, job.fill, job.predictor, scratch), {
        level: job.level,
      }),
    );
  if (half)
    halveColumns(
      data,
      width,
      rows,
      half.mode,
      half.nodata,
      half.out,
      job.tx0 * size,
      Math.min(job.tx1 * size, width),
    );
  return tiles;
}
