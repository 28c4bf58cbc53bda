import type { GridGeo, TargetGrid } from "../contracts/grid.contract.ts";
import { pixelCentresIn, transform } from "../grid/crs.ts";
import { sharedArray } from "../threads/task.pool.ts";

/** A north-up target grid. */
/** A north-up source raster's grid. */
export type SourceGrid = GridGeo & { width: number; height: number };

/**
 * For each target pixel, where its centre falls in the source grid: the four bilinear neighbours'
 * index and weights, and the nearest source pixel. Computed once per source geometry (by task
 * threads, a band of target rows each: see planRows) and reused for every band of every date on
 * it, by every warp thread: it sits on shared memory.
 */
export interface WarpPlan {
  target: TargetGrid;
  source: SourceGrid;
  /** Index of the upper-left bilinear neighbour, -1 when the centre is outside the source. */
  corner: Int32Array;
  fx: Float32Array;
  fy: Float32Array;
  /** Index of the nearest source pixel, -1 outside. */
  nearest: Int32Array;
}

/** A plan's arrays, not yet computed: planRows fills them, a band of rows at a time. */
export function emptyPlan(source: SourceGrid, target: TargetGrid): WarpPlan {
  const n = target.width * target.height;
  return {
    target,
    source,
    corner: sharedArray(Int32Array, n),
    fx: sharedArray(Float32Array, n),
    fy: sharedArray(Float32Array, n),
    nearest: sharedArray(Int32Array, n),
  };
}

/** Computes the plan for target rows [from, to), in place. */
export function planRows(plan: WarpPlan, from: number, to: number): void {
  const { source, target, corner, fx, fy, nearest } = plan;
  const { x, y } = pixelCentresIn(target, transform(target.epsg, source.epsg), undefined, [from, to]);
  const [ox, oy] = source.origin;
  const first = from * target.width;
  for (let k = 0; k < x.length; k++) {
    const i = first + k;
    // Continuous pixel coordinates with pixel centres on integers.
    const u = ((x[k] as number) - ox) / source.pixelSize - 0.5;
    const v = (oy - (y[k] as number)) / source.pixelSize - 0.5;
    const nu = Math.round(u);
    const nv = Math.round(v);
    if (nu < 0 || nv < 0 || nu >= source.width || nv >= source.height) {
      corner[i] = -1;
      nearest[i] = -1;
      continue;
    }
    nearest[i] = nv * source.width + nu;
    const u0 = Math.min(Math.max(Math.floor(u), 0), source.width - 2);
    const v0 = Math.min(Math.max(Math.floor(v), 0), source.height - 2);
    corner[i] = v0 * source.width + u0;
    fx[i] = Math.min(Math.max(u - u0, 0), 1);
    fy[i] = Math.min(Math.max(v - v0, 0), 1);
  }
}

/**
 * Warps bands of one source grid over target pixels [from, to) into `outs`: bilinear over the valid
 * neighbours (weights renormalised, as GDAL does with nodata), and valid only where the nearest
 * source pixel is valid (masks resample by nearest). The plan, weights and validity are read once
 * a pixel for all the bands; a thread can take a share of the rows.
 */
export function warpBands(
  plan: WarpPlan,
  bands: Int16Array[],
  valid: Uint8Array,
  nodata: number,
  outs: Int16Array[],
  from = 0,
  to = plan.corner.length,
): void {
  const w = plan.source.width;
  const { corner, fx: fxs, fy: fys, nearest } = plan;
  for (let i = from; i < to; i++) {
    const near = nearest[i] as number;
    if (near < 0 || !valid[near]) {
      for (const out of outs) out[i] = nodata;
      continue;
    }
    const c = corner[i] as number;
    const fx = fxs[i] as number;
    const fy = fys[i] as number;
    const w00 = (1 - fx) * (1 - fy);
    const w10 = fx * (1 - fy);
    const w01 = (1 - fx) * fy;
    const w11 = fx * fy;
    const v00 = valid[c] === 1;
    const v10 = valid[c + 1] === 1;
    const v01 = valid[c + w] === 1;
    const v11 = valid[c + w + 1] === 1;
    let weight = 0;
    if (v00) weight += w00;
    if (v10) weight += w10;
    if (v01) weight += w01;
    if (v11) weight += w11;
    for (let b = 0; b < bands.length; b++) {
      const band = bands[b] as Int16Array;
      let sum = 0;
      if (v00) sum += (band[c] as number) * w00;
      if (v10) sum += (band[c + 1] as number) * w10;
      if (v01) sum += (band[c + w] as number) * w01;
      if (v11) sum += (band[c + w + 1] as number) * w11;
      (outs[b] as Int16Array)[i] = weight > 0 ? Math.round(sum / weight) : (band[near] as number);
    }
  }
}
