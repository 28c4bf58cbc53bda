export function meanInPlace(sum: Float32Array, count: Uint16Array, classes: number): void;
export function pixelArgmax(
  logits: Float32Array,
  at: number,
  step: number,
  classes: number,
  best: Uint8Array,
  confidence: Float32Array,
  x: number,
): void;
export interface FinishedRows {
  /** Summed logits per row, planar [class][x]. */
  sums: Float32Array[];
  /** Windows that covered each pixel, per row. */
  counts: Uint16Array[];
  /** 1 where the pixel has data in every date, rows one after another. */
  valid: Uint8Array;
  classes: number;
  /** Map value of each class index. */
  classIds: readonly number[];
}
export function emitRows(rows: FinishedRows): { classes: Uint8Array; confidence: Uint8Array };
