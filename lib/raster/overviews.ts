import type { PixelArray } from "./raster.types.ts";

export type Resampling = "average" | "nearest";

function like<T extends PixelArray>(data: T, length: number): T {
  return new (data.constructor as new (n: number) => T)(length);
}

/**
 * Halves a raster. `average` means the valid pixels of each 2 x 2 block (reflectance, confidence);
 * `nearest` keeps the block's upper-left pixel (class maps and bit masks, where means are wrong).
 */
export function halve<T extends PixelArray>(
  data: T,
  width: number,
  height: number,
  mode: Resampling,
  nodata?: number,
): { data: T; width: number; height: number } {
  const out = like(data, Math.ceil(width / 2) * Math.ceil(height / 2));
  halveColumns(data, width, height, mode, nodata, out, 0, width);
  return { data: out, width: Math.ceil(width / 2), height: Math.ceil(height / 2) };
}

/**
 * halve() for the source columns [x0, x1) only (x0 even), into `out` (the whole half raster), so
 * threads can each halve a share of the columns and the result is the same as one halve().
 */
export function halveColumns(
  data: PixelArray,
  width: number,
  height: number,
  mode: Resampling,
  nodata: number | undefined,
  out: PixelArray,
  x0: number,
  x1: number,
): void {
  const w = Math.ceil(width / 2);
  const h = Math.ceil(height / 2);
  const round = !(data instanceof Float32Array);
  const from = x0 / 2;
  const to = Math.ceil(x1 / 2);
  // Blocks with all four pixels inside the raster: the common case, without the edge checks.
  const whole = Math.min(to, Math.floor(width / 2));
  for (let y = 0; y < h; y++) {
    const y0 = y * 2;
    const row = y0 * width;
    const at = y * w;
    if (mode === "nearest") {
      for (let x = from; x < to; x++) out[at + x] = data[row + x * 2] as number;
      continue;
    }
    let x = from;
    if (round && y0 + 1 < height) {
      const below = row + width;
      for (; x < whole; x++) {
        const xs = x * 2;
        const a = data[row + xs] as number;
        const b = data[row + xs + 1] as number;
        const c = data[below + xs] as number;
        const d = data[below + xs + 1] as number;
        // Integers: sums are exact in any order.
        const n = +(a !== nodata) + +(b !== nodata) + +(c !== nodata) + +(d !== nodata);
        const sum =
          (a !== nodata ? a : 0) + (b !== nodata ? b : 0) + (c !== nodata ? c : 0) + (d !== nodata ? d : 0);
        out[at + x] = n === 0 ? (nodata ?? 0) : Math.round(sum / n);
      }
    }
    for (; x < to; x++) {
      const xs = x * 2;
      let sum = 0;
      let n = 0;
      for (let dy = 0; dy < 2 && y0 + dy < height; dy++) {
        for (let dx = 0; dx < 2 && xs + dx < width; dx++) {
          const v = data[(y0 + dy) * width + xs + dx] as number;
          if (v === nodata || Number.isNaN(v)) continue;
          sum += v;
          n++;
        }
      }
      out[at + x] = n === 0 ? (nodata ?? 0) : round ? Math.round(sum / n) : sum / n;
    }
  }
}
