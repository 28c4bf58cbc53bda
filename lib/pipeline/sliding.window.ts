/**
 * Sliding-window inference geometry and logit averaging, as mmsegmentation's `slide_inference`
 * does it: windows every `stride` pixels, the last one moved back to end at the edge, the logits
 * of overlapping windows summed and divided by how many windows cover each pixel.
 */
import { giveShared, takeShared } from "../threads/shared.buffers.ts";
import { addWindows, type Coverage, meanInPlace, pixelArgmax } from "./row.emit.mjs";

/** Start offsets of windows of `size` along an axis of `length` (length >= size). */
export function windowStarts(length: number, size: number, stride: number): number[] {
  if (length < size) throw new Error(`axis of ${length} px is shorter than the ${size} px window`);
  const count = Math.max(length - size + stride - 1, 0) / stride;
  const starts: number[] = [];
  for (let i = 0; i <= Math.floor(count); i++)
    starts.push(Math.max(Math.min(i * stride + size, length) - size, 0));
  return [...new Set(starts)];
}

/** [class][x] to [x][class], or back with `back`, into `to`. */
function transpose(
  from: Float32Array,
  classes: number,
  width: number,
  back = false,
  to: Float32Array = new Float32Array(from.length),
): Float32Array {
  for (let c = 0; c < classes; c++)
    for (let x = 0; x < width; x++)
      if (back) to[c * width + x] = from[x * classes + c] as number;
      else to[x * classes + c] = from[c * width + x] as number;
  return to;
}

/** One row of summed logits ([class][x]) and of how many windows added to each pixel (or their summed weights). */
export interface LogitRow {
  sum: Float32Array;
  count: Coverage;
}

/** A held row as a checkpoint keeps it: sums [x][class]. */
export type HeldRow = { y: number } & LogitRow;

/**
 * Accumulates window logits row by row, so that only the rows some window still covers are held
 * in memory: at most one window height of float rows, however large the raster. Rows are held
 * planar ([class][x]), so a window adds each class as one contiguous run. They sit on shared
 * memory, so emit threads read them where they are, and a released row comes back through
 * `recycle` to be used again (by this tile or a later one): a new row per output row would be a
 * stream of garbage.
 */
export class RowAccumulator {
  private readonly rows = new Map<number, LogitRow>();

  constructor(
    readonly width: number,
    readonly classes: number,
    /** Blended tiling: rows sum weights (float) where the slide counts windows. */
    readonly weighted = false,
  ) {}

  private fresh(): LogitRow {
    const { width } = this;
    return {
      sum: new Float32Array(takeShared(width * this.classes * 4), 0, width * this.classes).fill(0),
      count: this.weighted
        ? new Float32Array(takeShared(width * 4), 0, width).fill(0)
        : new Uint16Array(takeShared(width * 2), 0, width).fill(0),
    };
  }

  private row(y: number): LogitRow {
    let r = this.rows.get(y);
    if (!r) {
      r = this.fresh();
      this.rows.set(y, r);
    }
    return r;
  }

  /** The rows y0 .. y0 + size - 1, held from now on, for windows to be added to (see addWindows). */
  rowsOf(y0: number, size: number): { sums: Float32Array[]; counts: Coverage[] } {
    const rows = Array.from({ length: size }, (_, dy) => this.row(y0 + dy));
    return { sums: rows.map((r) => r.sum), counts: rows.map((r) => r.count) };
  }

  /** Adds one window's logits, laid out [class][y][x] for a size x size window at (x0, y0). */
  add(logits: Float32Array, x0: number, y0: number, size: number): void {
    const { sums, counts } = this.rowsOf(y0, size);
    addWindows({ logits, xs: [x0], sums, counts, size, classes: this.classes });
  }

  /**
   * A finished row's sums ([class][x]) and counts, no longer held; pixels no window covered have
   * count 0. The caller hands it to `recycle` once it has read it.
   */
  release(y: number): LogitRow {
    const r = this.rows.get(y) ?? this.fresh();
    this.rows.delete(y);
    return r;
  }

  /** Released rows, read and no longer needed: they are used again for later rows. */
  recycle(rows: readonly LogitRow[]): void {
    for (const { sum, count } of rows)
      for (const { buffer } of [sum, count]) if (buffer instanceof SharedArrayBuffer) giveShared(buffer);
  }

  /** Averaged logits of a finished row, [x][class], removed from memory; pixels no window covered have count 0. */
  take(y: number): { mean: Float32Array; count: Coverage } {
    const { sum, count } = this.release(y);
    meanInPlace(sum, count, this.classes);
    return { mean: transpose(sum, this.classes, this.width), count };
  }

  get heldRows(): number {
    return this.rows.size;
  }

  /** The rows still held, for a checkpoint, [x][class] as checkpoints have always held them. */
  snapshot(): HeldRow[] {
    return [...this.rows.entries()].map(([y, r]) => ({
      y,
      sum: transpose(r.sum, this.classes, this.width),
      count: r.count.slice(),
    }));
  }

  restore(rows: HeldRow[]): void {
    this.recycle([...this.rows.values()]);
    this.rows.clear();
    for (const { y, sum, count } of rows) {
      const r = this.row(y);
      transpose(sum, this.classes, this.width, true, r.sum);
      r.count.set(count);
    }
  }
}

/** Argmax and softmax confidence of averaged logits, per pixel ([x][class] layout). */
export function argmaxRow(
  mean: Float32Array,
  classes: number,
  width: number,
): { best: Uint8Array; confidence: Float32Array } {
  const best = new Uint8Array(width);
  const confidence = new Float32Array(width);
  for (let x = 0; x < width; x++) pixelArgmax(mean, x * classes, 1, classes, best, confidence, x);
  return { best, confidence };
}
