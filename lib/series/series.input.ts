import type { StackHeader } from "../pipeline/stack.format.ts";
import { StackNodata } from "../pipeline/stack.format.ts";
import type { ChunkRows } from "../pipeline/window.input.ts";

/** One date of a staged series, as inference reads it: its header, day of year and decoded chunk rows. */
export interface SeriesDate {
  header: StackHeader;
  doy: number;
  rows: ChunkRows;
}

function value(date: SeriesDate, band: number, x: number, y: number): number {
  const k = date.header.chunk;
  const row = date.rows.get(Math.floor(y / k));
  if (!row) throw new Error(`chunk row ${Math.floor(y / k)} is not loaded`);
  return (row.data[Math.floor(x / k)] as Int16Array)[band * k * k + (y % k) * k + (x % k)] as number;
}

/**
 * Writes one pixel's series into batch slot `slot`: `series` [T][6][patch][patch] normalised per
 * band, `doy` [T] and `mask` [T] (1 where the centre pixel is clear on that date). Dates past the
 * staged ones are padding and are left as they are (zero: the buffers are zeroed once and padded
 * slots are never written). In a clear date's patch, a neighbour that is not clear, or off the
 * grid, takes the centre's value. Returns the number of clear dates.
 */
export function fillPixel(
  out: { series: Float32Array; doy: Float32Array; mask: Float32Array },
  slot: number,
  dates: SeriesDate[],
  maxDates: number,
  x: number,
  y: number,
  patch: number,
  normalization: { mean: readonly number[]; std: readonly number[] },
): number {
  const { width, height } = (dates[0] as SeriesDate).header.grid;
  const half = (patch - 1) / 2;
  const perDate = 6 * patch * patch;
  let clear = 0;
  dates.forEach((date, t) => {
    const at = (slot * maxDates + t) * perDate;
    out.doy[slot * maxDates + t] = date.doy;
    const centreClear = value(date, 0, x, y) !== StackNodata;
    out.mask[slot * maxDates + t] = centreClear ? 1 : 0;
    if (!centreClear) {
      out.series.fill(0, at, at + perDate);
      return;
    }
    clear++;
    for (let b = 0; b < 6; b++) {
      const mean = normalization.mean[b] as number;
      const scale = 1 / (normalization.std[b] as number);
      const centre = (value(date, b, x, y) - mean) * scale;
      for (let dy = -half; dy <= half; dy++) {
        const yy = y + dy;
        for (let dx = -half; dx <= half; dx++) {
          const xx = x + dx;
          const v = xx < 0 || yy < 0 || xx >= width || yy >= height ? StackNodata : value(date, b, xx, yy);
          out.series[at + b * patch * patch + (dy + half) * patch + (dx + half)] =
            v === StackNodata ? centre : (v - mean) * scale;
        }
      }
    }
  });
  return clear;
}
