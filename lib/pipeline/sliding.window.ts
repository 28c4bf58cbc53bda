/**
 * Sliding-window inference geometry and logit averaging, as mmsegmentation's `slide_inference`
 * does it: windows every `stride` pixels, the last one moved back to end at the edge, the logits
 * of overlapping windows summed and divided by how many windows cover each pixel.
 */

/** Start offsets of windows of `size` along an axis of `length` (length >= size). */
export function windowStarts(length: number, size: number, stride: number): number[] {
  if (length < size) throw new Error(`axis of ${length} px is shorter than the ${size} px window`);
  const count = Math.max(length - size + stride - 1, 0) / stride;
  const starts: number[] = [];
  for (let i = 0; i <= Math.floor(count); i++)
    starts.push(Math.max(Math.min(i * stride + size, length) - size, 0));
  return [...new Set(starts)];
}

/**
 * Accumulates window logits row by row, so that only the rows some window still covers are held
 * in memory: at most one window height of float rows, however large the raster.
 */
export class RowAccumulator {
  private readonly rows = new Map<number, { sum: Float32Array; count: Uint16Array }>();

  constructor(
    readonly width: number,
    readonly classes: number,
  ) {}

  private row(y: number) {
    let r = this.rows.get(y);
    if (!r) {
      r = { sum: new Float32Array(this.width * this.classes), count: new Uint16Array(this.width) };
      this.rows.set(y, r);
    }
    return r;
  }

  /** Adds one window's logits, laid out [class][y][x] for a size x size window at (x0, y0). */
  add(logits: Float32Array, x0: number, y0: number, size: number): void {
    const plane = size * size;
    for (let dy = 0; dy < size; dy++) {
      const { sum, count } = this.row(y0 + dy);
      for (let dx = 0; dx < size; dx++) {
        const x = x0 + dx;
        count[x] = (count[x] as number) + 1;
        const base = x * this.classes;
        const at = dy * size + dx;
        for (let c = 0; c < this.classes; c++)
          sum[base + c] = (sum[base + c] as number) + (logits[c * plane + at] as number);
      }
    }
  }

  /** Averaged logits of a finished row, removed from memory; pixels no window covered have count 0. */
  take(y: number): { mean: Float32Array; count: Uint16Array } {
    const r = this.rows.get(y) ?? {
      sum: new Float32Array(this.width * this.classes),
      count: new Uint16Array(this.width),
    };
    this.rows.delete(y);
    for (let x = 0; x < this.width; x++) {
      const n = r.count[x] as number;
      if (n > 1)
        for (let c = 0; c < this.classes; c++)
          r.sum[x * this.classes + c] = (r.sum[x * this.classes + c] as number) / n;
    }
    return { mean: r.sum, count: r.count };
  }

  get heldRows(): number {
    return this.rows.size;
  }

  /** The rows still held, for a checkpoint. */
  snapshot(): { y: number; sum: Float32Array; count: Uint16Array }[] {
    return [...this.rows.entries()].map(([y, r]) => ({ y, ...r }));
  }

  restore(rows: { y: number; sum: Float32Array; count: Uint16Array }[]): void {
    this.rows.clear();
    for (const { y, sum, count } of rows) this.rows.set(y, { sum, count });
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
  for (let x = 0; x < width; x++) {
    let top = 0;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) {
      const v = mean[x * classes + c] as number;
      if (v > max) {
        max = v;
        top = c;
      }
    }
    let z = 0;
    for (let c = 0; c < classes; c++) z += Math.exp((mean[x * classes + c] as number) - max);
    best[x] = top;
    confidence[x] = 1 / z;
  }
  return { best, confidence };
}
