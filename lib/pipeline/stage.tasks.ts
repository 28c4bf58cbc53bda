/**
 * Task-thread side of staging (see lib/threads/task.pool.ts and stage.pool.ts): a granule's
 * validity mask, the warp plan and the warp of its six bands, each thread a share of the pixels or
 * rows, and the stack's rows of chunks. Sources, masks, plans and the warped planes sit on shared
 * memory: read and written in place, nothing copied back.
 */
import { FmaskBit, FmaskFill, HlsFill } from "../hls/fmask.ts";
import { planRows, type WarpPlan, warpBands } from "./warp.ts";

export { encodeChunkRow } from "./stack.writer.ts";

/** Pixels that are clear, inside the swath and valid in every band. */
const Unusable = FmaskBit.Cloud | FmaskBit.Adjacent | FmaskBit.Shadow;

export interface MaskJob {
  bands: Int16Array[];
  fmask: Uint8Array;
  /** Written for pixels [from, to): 1 where clear and valid in every band. */
  valid: Uint8Array;
  from: number;
  to: number;
}

export function maskValid({ bands, fmask, valid, from, to }: MaskJob): void {
  for (let i = from; i < to; i++) {
    const m = fmask[i] as number;
    let ok = m !== FmaskFill && (m & Unusable) === 0;
    for (let b = 0; ok && b < bands.length; b++) ok = (bands[b] as Int16Array)[i] !== HlsFill;
    valid[i] = ok ? 1 : 0;
  }
}

/** Training chips' validity (their mode of GranuleWarp): only the reflectance fill is invalid, cloud is kept. */
export function maskFill({ bands, valid, from, to }: MaskJob): void {
  for (let i = from; i < to; i++) {
    let ok = true;
    for (let b = 0; ok && b < bands.length; b++) ok = (bands[b] as Int16Array)[i] !== HlsFill;
    valid[i] = ok ? 1 : 0;
  }
}

export interface PlanJob {
  plan: WarpPlan;
  /** Target rows [from, to). */
  from: number;
  to: number;
}

export function planShare({ plan, from, to }: PlanJob): void {
  planRows(plan, from, to);
}

export interface WarpJob {
  plan: WarpPlan;
  bands: Int16Array[];
  valid: Uint8Array;
  nodata: number;
  /** On shared memory: this job writes target pixels [from, to) of each. */
  outs: Int16Array[];
  from: number;
  to: number;
}

export function warpRows({ plan, bands, valid, nodata, outs, from, to }: WarpJob): void {
  warpBands(plan, bands, valid, nodata, outs, from, to);
}

export interface NearestJob {
  plan: WarpPlan;
  source: Uint8Array;
  /** On shared memory: target pixels [from, to) are written, `outside` where the plan has no source pixel. */
  out: Uint8Array;
  outside: number;
  from: number;
  to: number;
}

/** A mask plane (Fmask) resampled by nearest neighbour, as the training chips' QA was. */
export function nearestRows({ plan, source, out, outside, from, to }: NearestJob): void {
  const { nearest } = plan;
  for (let i = from; i < to; i++) {
    const n = nearest[i] as number;
    out[i] = n < 0 ? outside : (source[n] as number);
  }
}
