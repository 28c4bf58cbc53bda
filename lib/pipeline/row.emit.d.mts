export interface AddedWindows {
  /** The batch's logits, [window][class][y][x]. */
  logits: Float32Array;
  /** Column of each window, in batch order. */
  xs: number[];
  /** The window row's rows, planar [class][x], and their counts (or a band of them, see firstRow). */
  sums: Float32Array[];
  /** Windows that covered each pixel; with `weights`, the summed weights. */
  counts: Coverage[];
  size: number;
  classes: number;
  /** The window row's row that `sums[0]` is; 0 when absent. */
  firstRow?: number;
  /** Blended tiling: the window row's weight at each of its rows, and each window's at each of its columns. */
  weights?: { rows: Float32Array; cols: Float32Array[] };
}
/** Per pixel of a row: the windows that covered it (mmseg), or their summed weights (blended). */
export type Coverage = Uint16Array | Float32Array;
export function addWindows(batch: AddedWindows): void;
export function meanInPlace(sum: Float32Array, count: Coverage, classes: number): void;
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
  /** Windows that covered each pixel (or their summed weights), per row. */
  counts: Coverage[];
  /** 1 where the pixel has data in every date, rows one after another. */
  valid: Uint8Array;
  classes: number;
  /** Map value of each class index. */
  classIds: readonly number[];
}
export function emitRows(rows: FinishedRows): { classes: Uint8Array; confidence: Uint8Array };
