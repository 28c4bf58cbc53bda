import { type StackHeader, StackNodata } from "../contracts/stack.header.ts";
import type { ChunkRows } from "../pipeline/window.input.ts";
import { bandScaling, type SeriesNormalization } from "./series.manifest.ts";

/** One date of a staged series, as inference reads it: its header, day of year and decoded chunk rows. */
export interface SeriesDate {
  header: StackHeader;
  doy: number;
  rows: ChunkRows;
  /** The rows of pixels being filled, with a halo, band-major [6][rows][width], normalised; NaN where not clear or off the grid. */
  strip?: { y0: number; rows: number; data: Float32Array };
}

/**
 * Copies rows `y0 - halo .. y1 + halo` of every date out of its chunks into one band-major strip,
 * normalised per band as the manifest says (a z-score, or a division for SITS-Former's own), NaN where the pixel is not clear or off the grid: each value is converted
 * once, not once per patch it falls in, and cutting patches is plain index arithmetic.
 */
export function loadStrips(
  dates: SeriesDate[],
  y0: number,
  y1: number,
  halo: number,
  normalization: SeriesNormalization,
): void {
  const { offset, divisor } = bandScaling(normalization);
  for (const date of dates) {
    const { width, height } = date.header.grid;
    const k = date.header.chunk;
    const first = y0 - halo;
    const rows = y1 - y0 + 2 * halo;
    const data = new Float32Array(6 * rows * width).fill(Number.NaN);
    for (let r = 0; r < rows; r++) {
      const y = first + r;
      if (y < 0 || y >= height) continue;
      const row = date.rows.get(Math.floor(y / k));
      if (!row) throw new Error(`chunk row ${Math.floor(y / k)} is not loaded`);
      for (let cx = 0; cx < row.data.length; cx++) {
        const chunk = row.data[cx] as Int16Array;
        const w = Math.min(k, width - cx * k);
        for (let b = 0; b < 6; b++) {
          const o = offset[b] as number;
          const f = 1 / (divisor[b] as number);
          const from = b * k * k + (y % k) * k;
          const to = (b * rows + r) * width + cx * k;
          for (let i = 0; i < w; i++) {
            const v = chunk[from + i] as number;
            if (v !== StackNodata) data[to + i] = (v - o) * f;
          }
        }
      }
    }
    date.strip = { y0: first, rows, data };
  }
}

/**
 * Writes one pixel's series into batch slot `slot`: `series` [T][6][patch][patch] normalised per
 * band, `doy` [T] and `mask` [T] (1 where the centre pixel is clear on that date). Dates past the
 * staged ones are padding and are left as they are (zero: the buffers are zeroed once and padded
 * slots are never written). In a clear date's patch, a neighbour that is not clear, or off the
 * grid, takes the centre's value. Reads the strips of `loadStrips` (already normalised). Returns the
 * number of clear dates.
 */
export function fillPixel(
  out: { series: Float32Array; doy: Float32Array; mask: Float32Array },
  slot: number,
  dates: SeriesDate[],
  maxDates: number,
  x: number,
  y: number,
  patch: number,
): number {
  const width = (dates[0] as SeriesDate).header.grid.width;
  const half = (patch - 1) / 2;
  const area = patch * patch;
  const perDate = 6 * area;
  const { series } = out;
  let clear = 0;
  for (let t = 0; t < dates.length; t++) {
    const { y0, rows, data } = (dates[t] as SeriesDate).strip as NonNullable<SeriesDate["strip"]>;
    const at = (slot * maxDates + t) * perDate;
    out.doy[slot * maxDates + t] = (dates[t] as SeriesDate).doy;
    const centreAt = (y - y0) * width + x;
    if (Number.isNaN(data[centreAt] as number)) {
      out.mask[slot * maxDates + t] = 0;
      series.fill(0, at, at + perDate);
      continue;
    }
    out.mask[slot * maxDates + t] = 1;
    clear++;
    for (let b = 0; b < 6; b++) {
      const plane = b * rows * width;
      const centre = data[plane + centreAt] as number;
      let o = at + b * area;
      for (let dy = -half; dy <= half; dy++) {
        const rowAt = plane + centreAt + dy * width;
        for (let dx = -half; dx <= half; dx++) {
          const xx = x + dx;
          // NaN: not clear, or off the grid; the centre stands in.
          const v = xx >= 0 && xx < width ? (data[rowAt + dx] as number) : Number.NaN;
          series[o++] = Number.isNaN(v) ? centre : v;
        }
      }
    }
  }
  return clear;
}
