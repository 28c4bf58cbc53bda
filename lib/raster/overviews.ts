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
  const w = Math.ceil(width / 2);
  const h = Math.ceil(height / 2);
  const out = like(data, w * h);
  const round = !(data instanceof Float32Array);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const x0 = x * 2;
      const y0 = y * 2;
      if (mode === "nearest") {
        out[y * w + x] = data[y0 * width + x0] as number;
        continue;
      }
      let sum = 0;
      let n = 0;
      for (let dy = 0; dy < 2 && y0 + dy < height; dy++) {
        for (let dx = 0; dx < 2 && x0 + dx < width; dx++) {
          const v = data[(y0 + dy) * width + x0 + dx] as number;
          if (v === nodata || Number.isNaN(v)) continue;
          sum += v;
          n++;
        }
      }
      out[y * w + x] = n === 0 ? (nodata ?? 0) : round ? Math.round(sum / n) : sum / n;
    }
  }
  return { data: out, width: w, height: h };
}
