import type { StackHeader } from "../contracts/stack.header.ts";
import type { Tiling } from "../contracts/tiling.contract.ts";
import { giveShared, takeShared } from "../threads/shared.buffers.ts";
import { axisWeights } from "./blended.window.ts";
import type { EmittedRows, RowEmitter } from "./row.emitter.ts";
import type { LogitRow, RowAccumulator } from "./sliding.window.ts";
import { windowStarts } from "./sliding.window.ts";
import {
  fillWindow,
  giveWindowRow,
  sharedWindowRow,
  validityRows,
  type WindowRow,
  type WindowRows,
  windowRow,
} from "./window.input.ts";

/** How far a tile's sliding-window inference has gone; advanced in place, row by row. */
export interface SlideState {
  /** Next window row to run. */
  row: number;
  /** Output rows already final. */
  emitted: number;
  run: number;
  skipped: number;
  classes: Uint8Array;
  confidence: Uint8Array;
}

export interface SlideJob {
  header: StackHeader;
  /** Where windows go and how their logits combine; blended needs a weighted accumulator. */
  tiling: Tiling;
  /** Logits per pixel. */
  classes: number;
  /** Map value of each class index. */
  classIds: readonly number[];
  normalization: { mean: readonly number[]; std: readonly number[] };
  batchSize: number;
  state: SlideState;
  /** Holds the logit rows some window still reaches (restored from a checkpoint, if any). */
  accumulator: RowAccumulator;
  emitter: RowEmitter;
  /**
   * A chunk row: as windowRow makes it, written into `into` (a spare row on shared memory), on a
   * decode thread say; or its decoded chunks, which are then normalised into `into` here (validity, if
   * given, is made again with them).
   */
  readChunkRow(cy: number, into: WindowRow): Promise<WindowRow | { data: Int16Array[] }>;
  /**
   * Runs one batch, the windows at `xs` of the window row at `y0` (a TL model's coords are theirs);
   * the input's buffer (shared memory) is handed back with the logits, which may lie in it: it is
   * filled again only once they are added.
   */
  runBatch(
    input: Float32Array,
    windows: number,
    at: { y0: number; xs: readonly number[] },
  ): Promise<{ logits: Float32Array; buffer: ArrayBufferLike }>;
  /** Before each batch goes to the model: throws to stop (a cancelled activity). */
  beforeBatch(): void;
  /**
   * After each window row, once its finished output rows are handed to the emitter: `settled`
   * waits until every emitted row is in `state.classes` (a checkpoint needs that; a heartbeat not).
   */
  rowDone(settled: () => Promise<void>): Promise<void>;
}

type Queued =
  | {
      kind: "batch";
      y0: number;
      xs: number[];
      weights?: { rows: Float32Array; cols: Float32Array[] };
      result: Promise<{ logits: Float32Array; buffer: ArrayBufferLike }>;
    }
  | { kind: "row"; r: number; skipped: number };

/** A promise whose rejection is handled later (when awaited in order), not reported as unhandled now. */
function later<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/**
 * Sliding-window inference over a staged tile from `state.row` on, exactly as mmsegmentation's
 * slide inference (see sliding.window.ts) or TerraTorch's blended tiling (blended.window.ts), with
 * the host's work overlapped with the model's:
 * while one batch runs, the next is already queued on the model thread, an emit thread adds the
 * batch before into its rows while the main thread fills the one after, the next window row's
 * chunks are read and inflated, and finished rows are argmaxed on emit threads. Batches and rows
 * sit on shared memory, used again and again, so none of this copies or makes garbage of them.
 * Everything lands in the same
 * order as one batch at a time would: batches never span window rows, logits are added in batch
 * order, and a row's checkpoint sees exactly the batches of the rows before it, so a resumed tile
 * is byte-identical to a clean one.
 */
export async function slideTile(job: SlideJob): Promise<void> {
  const { header, tiling, batchSize, state, accumulator } = job;
  const { size, stride } = tiling;
  const { width, height } = header.grid;
  const k = header.chunk;
  const xs = windowStarts(width, size, stride);
  const ys = windowStarts(height, size, stride);
  const blend =
    tiling.kind === "blended"
      ? { cols: axisWeights(xs, size, tiling.border), rows: axisWeights(ys, size, tiling.border) }
      : undefined;
  const weightsOf = (y0: number, at: number[]) =>
    blend && {
      rows: blend.rows.get(y0) as Float32Array,
      cols: at.map((x0) => blend.cols.get(x0) as Float32Array),
    };
  const windowValues = header.channels * size * size;

  const fetching = new Map<number, Promise<WindowRow>>();
  const rows: WindowRows = new Map();
  // Chunk rows no longer read, to decode later rows into.
  const spare: WindowRow[] = [];
  const fetchRowsOf = (r: number) => {
    const y0 = ys[r];
    if (y0 === undefined) return;
    for (let cy = Math.floor(y0 / k); cy <= Math.floor((y0 + size - 1) / k); cy++) {
      if (fetching.has(cy)) continue;
      const into = spare.pop() ?? sharedWindowRow(header);
      const read = job
        .readChunkRow(cy, into)
        .then((row) => ("data" in row ? windowRow(header, row.data, job.normalization, into) : row));
      fetching.set(cy, later(read));
    }
  };

  const free: ArrayBufferLike[] = [];
  const queue: Queued[] = [];
  let batchesQueued = 0;
  const emitting: Promise<void>[] = [];
  const maxEmitting = 2 * Math.max(1, job.emitter.threads);
  // The last batch's addition into its rows, on an emit thread while this one fills the next.
  let adding: Promise<void> = Promise.resolve();

  const emitUntil = (until: number) => {
    const from = state.emitted;
    const released: LogitRow[] = [];
    for (let y = from; y < until; y++) released.push(accumulator.release(y));
    const sums = released.map((r) => r.sum);
    const counts = released.map((r) => r.count);
    const valid = validityRows(rows, header, from, until);
    const put = ({ classes, confidence }: EmittedRows) => {
      state.classes.set(classes, from * width);
      state.confidence.set(confidence, from * width);
      accumulator.recycle(released);
    };
    // Emitted once every batch before has been added.
    const emitted = adding.then(() =>
      job.emitter.emit({ sums, counts, valid, classes: job.classes, classIds: job.classIds }),
    );
    emitting.push(later(emitted.then(put)));
    state.emitted = until;
  };
  const settled = async () => {
    await adding;
    while (emitting.length > 0) await emitting.shift();
  };

  // The oldest queued item: a batch's logits are added, a window row's finished rows emitted.
  const settleOne = async () => {
    const item = queue.shift();
    if (!item) return;
    if (item.kind === "batch") {
      batchesQueued--;
      const { logits, buffer } = await item.result;
      // One addition at a time, in batch order: the sums of a pixel are added in that order.
      await adding;
      const { sums, counts } = accumulator.rowsOf(item.y0, size);
      const added = { logits, xs: item.xs, sums, counts, size, classes: job.classes };
      adding = later(
        job.emitter.add(item.weights ? { ...added, weights: item.weights } : added).then(() => {
          free.push(buffer);
        }),
      );
      state.run += item.xs.length;
      return;
    }
    state.skipped += item.skipped;
    const next = ys[item.r + 1];
    emitUntil(next ?? height);
    while (emitting.length > maxEmitting) await emitting.shift();
    state.row = item.r + 1;
    // Chunk rows below the next window row are no longer read (the emitted rows' validity is taken).
    for (const cy of [...rows.keys()])
      if (next === undefined || cy < Math.floor(next / k)) {
        spare.push(rows.get(cy) as WindowRow);
        rows.delete(cy);
        fetching.delete(cy);
      }
    await job.rowDone(settled);
  };

  let batch: Float32Array | undefined;
  let pending: number[] = [];
  const submit = async (y0: number) => {
    if (!batch || pending.length === 0) return;
    job.beforeBatch();
    const input = batch.subarray(0, pending.length * windowValues);
    const weights = weightsOf(y0, pending);
    const result = later(job.runBatch(input, pending.length, { y0, xs: pending }));
    queue.push({ kind: "batch", y0, xs: pending, ...(weights ? { weights } : {}), result });
    batchesQueued++;
    batch = undefined;
    pending = [];
    // One batch stays queued behind the running one, so the model never waits for the host.
    while (batchesQueued > 1) await settleOne();
  };

  try {
    for (let r = state.row; r < ys.length; r++) {
      const y0 = ys[r] as number;
      fetchRowsOf(r);
      fetchRowsOf(r + 1);
      for (let cy = Math.floor(y0 / k); cy <= Math.floor((y0 + size - 1) / k); cy++)
        if (!rows.has(cy)) rows.set(cy, await (fetching.get(cy) as Promise<WindowRow>));
      let skipped = 0;
      for (const x0 of xs) {
        batch ??= new Float32Array(
          free.pop() ?? takeShared(batchSize * windowValues * 4),
          0,
          batchSize * windowValues,
        );
        // Filled straight into its batch slot; a window without one valid pixel gives its slot back.
        if (fillWindow(batch, pending.length * windowValues, rows, header, x0, y0, size) === 0) {
          skipped++;
          continue;
        }
        pending.push(x0);
        if (pending.length === batchSize) await submit(y0);
      }
      await submit(y0);
      queue.push({ kind: "row", r, skipped });
    }
    while (queue.length > 0) await settleOne();
    await settled();
  } finally {
    // Slots and rows no thread holds any more go back for later tiles (one the model or a decode
    // thread still has is dropped).
    for (const slot of [...free, batch?.buffer]) if (slot instanceof SharedArrayBuffer) giveShared(slot);
    for (const row of [...spare, ...rows.values()]) giveWindowRow(row);
  }
}
