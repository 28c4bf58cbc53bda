import { pixelCentresIn, transform } from "../grid/crs.ts";
import type { GridGeo } from "../raster/raster.types.ts";
import { sharedArray } from "../threads/task.pool.ts";

/** A north-up target grid. */
export interface TargetGrid extends GridGeo {
  width: number;
  height: number;
}

/**
 * For each target pixel, where its centre falls in the source grid: the four bilinear neighbours'
 * index and weights, and the nearest source pixel. Computed once per source geometry and reused
 * for every band of every date on it, by every warp thread: it sits on shared memory.
 */
export interface WarpPlan {
  target: TargetGrid;
  /** Index of the upper-left bilinear neighbour, -1 when the centre is outside the source. */
  corner: Int32Array;
  fx: Float32Array;
  fy: Float32Array;
  /** Index of the nearest source pixel, -1 outside. */
  nearest: Int32Array;
  sourceWidth: number;
}

export function planWarp(source: GridGeo & { width: number; height: number }, target: TargetGrid): WarpPlan {
  const toSource = transform(target.epsg, source.epsg);
  const { x, y } = pixelCentresIn(target, toSource);
  const n = target.width * target.height;
  const corner = sharedArray(Int32Array, n).fill(-1);
  const nearest = sharedArray(Int32Array, n).fill(-1);
  const fx = sharedArray(Float32Array, n);
  const fy = sharedArray(Float32Array, n);
  const [ox, oy] = source.origin;
  for (let i = 0; i < n; i++) {
    // Continuous pixel coordinates with pixel centres on integers.
    const u = ((x[i] as number) - ox) / source.pixelSize - 0.5;
    const v = (oy - (y[i] as number)) / source.pixelSize - 0.5;
    const nu = Math.round(u);
    const nv = Math.round(v);
    if (nu < 0 || nv < 0 || nu >= source.width || nv >= source.height) continue;
    nearest[i] = nv * source.width + nu;
    const u0 = Math.min(Math.max(Math.floor(u), 0), source.width - 2);
    const v0 = Math.min(Math.max(Math.floor(v), 0), source.height - 2);
    corner[i] = v0 * source.width + u0;
    fx[i] = Math.min(Math.max(u - u0, 0), 1);
    fy[i] = Math.min(Math.max(v - v0, 0), 1);
  }
  return { target, corner, fx, fy, nearest, sourceWidth: source.width };
}

/**
 * Warps one band: bilinear over the valid neighbours (weights renormalised, as GDAL does with
 * nodata), and valid only where the nearest source pixel is valid (masks resample by nearest).
 */
export function warpBand(plan: WarpPlan, band: Int16Array, valid: Uint8Array, nodata: number): Int16Array {
  const out = new Int16Array(plan.corner.length).fill(nodata);
  const w = plan.sourceWidth;
  for (let i = 0; i < out.length; i++) {
    const near = plan.nearest[i] as number;
    if (near < 0 || !valid[near]) continue;
    const c = plan.corner[i] as number;
    const fx = plan.fx[i] as number;
    const fy = plan.fy[i] as number;
    const w00 = (1 - fx) * (1 - fy);
    const w10 = fx * (1 - fy);
    const w01 = (1 - fx) * fy;
    const w11 = fx * fy;
    let sum = 0;
    let weight = 0;
    if (valid[c]) {
      sum += (band[c] as number) * w00;
      weight += w00;
    }
    if (valid[c + 1]) {
      sum += (band[c + 1] as number) * w10;
      weight += w10;
    }
    if (valid[c + w]) {
      sum += (band[c + w] as number) * w01;
      weight += w01;
    }
    if (valid[c + w + 1]) {
      sum += (band[c + w + 1] as number) * w11;
      weight += w11;
    }
    out[i] = weight > 0 ? Math.round(sum / weight) : (band[near] as number);
  }
  return out;
}
