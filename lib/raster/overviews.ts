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
  for (let y = 0; y < h; y++) {
    const y0 = y * 2;
    if (mode === "nearest") {
      for (let x = x0 / 2; x < Math.ceil(x1 / 2); x++) out[y * w + x] = data[y0 * width + x * 2] as number;
      continue;
    }
    for (let x = x0 / 2; x < Math.ceil(x1 / 2); x++) {
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
      out[y * w + x] = n === 0 ? (nodata ?? 0) : round ? Math.round(sum / n) : sum / n;
    }
  }
}
