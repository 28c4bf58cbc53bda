import { availableParallelism } from "node:os";
import { createTaskPool, type TaskPool } from "../threads/task.pool.ts";
import { type AddedWindows, addWindows, emitRows, type FinishedRows } from "./row.emit.mjs";

export interface EmittedRows {
  classes: Uint8Array;
  confidence: Uint8Array;
}

/**
 * Emit threads to use when the config does not say: one per core beyond the main thread's, at
 * most 4 (a 2-core host gets one, which halves the main thread's per-pixel work).
 */
export function defaultEmitThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/**
 * Turns finished logit rows into map values (row.emit.mjs): the softmax's exp per class and pixel
 * is the largest per-pixel cost of inference on the host, so it runs on task threads while the main
 * thread fills and accumulates the next windows; with no threads, on the calling thread. Rows on
 * shared memory are read where they are; other buffers move to the thread (no copy) and are gone
 * from the caller.
 */
export class RowEmitter {
  private constructor(private readonly pool: TaskPool | undefined) {}

  get threads(): number {
    return this.pool?.size ?? 0;
  }

  static start(threads: number): RowEmitter {
    return new RowEmitter(
      threads > 0 ? createTaskPool(new URL("./row.emit.mjs", import.meta.url), threads) : undefined,
    );
  }

  /**
   * Adds a batch's windows into their rows (addWindows), on threads when there are some: the rows
   * and, from the model thread, the logits sit on shared memory, so nothing is copied. Each thread
   * adds one band of the rows, so a pixel's sum is still added to in batch order, and the serial
   * part of a tile's inference shrinks with the threads. The caller keeps the order: one batch's
   * addition finishes before the next one's starts.
   */
  async add(batch: AddedWindows): Promise<void> {
    const { pool } = this;
    if (!pool) return addWindows(batch);
    const rows = batch.sums.length;
    const band = Math.ceil(rows / pool.size);
    const bands = [];
    for (let from = 0; from < rows; from += band) {
      const to = Math.min(rows, from + band);
      const sums = batch.sums.slice(from, to);
      const counts = batch.counts.slice(from, to);
      bands.push(pool.run<void>("addWindows", { ...batch, sums, counts, firstRow: from }));
    }
    await Promise.all(bands);
  }

  emit(rows: FinishedRows): Promise<EmittedRows> {
    if (!this.pool) return Promise.resolve(emitRows(rows));
    const buffers = [...rows.sums, ...rows.counts, rows.valid]
      .map((a) => a.buffer)
      .filter((b): b is ArrayBuffer => !(b instanceof SharedArrayBuffer));
    return this.pool.run<EmittedRows>("emitRows", rows, [...new Set(buffers)]);
  }
}

const shared = new Map<number, RowEmitter>();

/** One emitter per thread count per process, started on first use; its threads hold a process open only while they have work. */
export function rowEmitter(threads: number): RowEmitter {
  let emitter = shared.get(threads);
  if (!emitter) {
    emitter = RowEmitter.start(threads);
    shared.set(threads, emitter);
  }
  return emitter;
}
