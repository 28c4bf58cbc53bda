import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { emitRows, type FinishedRows } from "./row.emit.mjs";

export interface EmittedRows {
  classes: Uint8Array;
  confidence: Uint8Array;
}

type Reply = { id: number; error?: string } & Partial<EmittedRows>;

const ThreadScript = new URL("./emit.thread.mjs", import.meta.url);

/**
 * Emit threads to use when the config does not say: one per core beyond the main thread's, at
 * most 4 (a 2-core host gets one, which halves the main thread's per-pixel work).
 */
export function defaultEmitThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/**
 * Turns finished logit rows into map values on worker threads, round robin; with no threads, on
 * the calling thread. The rows' buffers move to the thread (no copy) and are gone from the caller.
 */
export class RowEmitter {
  private readonly waiting = new Map<
    number,
    { resolve: (r: EmittedRows) => void; reject: (e: Error) => void }
  >();
  /** Jobs on each thread: a thread with work holds the process open, an idle one does not. */
  private readonly busy = new Map<Worker, number>();
  private next = 1;
  private failure: Error | undefined;

  private constructor(private readonly workers: Worker[]) {
    for (const worker of workers) {
      worker.on("message", (reply: Reply) => {
        const job = this.waiting.get(reply.id);
        if (!job) return;
        this.waiting.delete(reply.id);
        this.settle(worker);
        if (reply.error !== undefined || !reply.classes || !reply.confidence)
          job.reject(new Error(`emit thread: ${reply.error}`));
        else job.resolve({ classes: reply.classes, confidence: reply.confidence });
      });
      // A dead thread fails what it held; the activity's retry starts from the last checkpoint.
      worker.on("error", (error) => this.failAll(error));
      worker.on("exit", (code) => this.failAll(new Error(`emit thread exited with code ${code}`)));
      worker.unref();
    }
  }

  private settle(worker: Worker): void {
    const left = (this.busy.get(worker) ?? 1) - 1;
    this.busy.set(worker, left);
    if (left === 0) worker.unref();
  }

  private failAll(error: Error): void {
    this.failure = error;
    for (const [threads, emitter] of shared) if (emitter === this) shared.delete(threads);
    for (const job of this.waiting.values()) job.reject(error);
    this.waiting.clear();
    for (const worker of this.workers) worker.unref();
  }

  get threads(): number {
    return this.workers.length;
  }

  static start(threads: number): RowEmitter {
    return new RowEmitter(Array.from({ length: threads }, () => new Worker(ThreadScript)));
  }

  emit(rows: FinishedRows): Promise<EmittedRows> {
    if (this.workers.length === 0) return Promise.resolve(emitRows(rows));
    if (this.failure) return Promise.reject(this.failure);
    const id = this.next++;
    const worker = this.workers[id % this.workers.length] as Worker;
    return new Promise<EmittedRows>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.busy.set(worker, (this.busy.get(worker) ?? 0) + 1);
      worker.ref();
      const buffers = [...rows.sums, ...rows.counts, rows.valid].map((a) => a.buffer as ArrayBuffer);
      worker.postMessage({ id, ...rows }, buffers);
    });
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
