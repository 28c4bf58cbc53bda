import { availableParallelism } from "node:os";
import { type Transferable, Worker } from "node:worker_threads";

const ThreadScript = new URL("./task.thread.mjs", import.meta.url);

/**
 * Worker threads that run the exported functions of one task module, one task per thread at a
 * time, in the order asked. Threads start on first use and hold the process open only while they
 * have work. Arguments are copied unless they sit on SharedArrayBuffers or are listed to transfer.
 */
export interface TaskPool {
  readonly size: number;
  run<T>(task: string, args: unknown, transfer?: readonly Transferable[]): Promise<T>;
  close(): Promise<void>;
}

interface Job {
  id: number;
  task: string;
  args: unknown;
  transfer: readonly Transferable[];
  resolve(value: unknown): void;
  reject(error: Error): void;
}

type Reply = { ready: true } | { id: number; value: unknown } | { id: number; error: string; stack?: string };

/** The default thread count: every core this process may use. */
export const DefaultThreads = availableParallelism();

export function createTaskPool(module: URL, size = DefaultThreads): TaskPool {
  if (!Number.isInteger(size) || size < 1)
    throw new Error(`a task pool needs at least one thread, not ${size}`);
  const queue: Job[] = [];
  const idle: Worker[] = [];
  const held = new Map<Worker, Job>();
  const workers: Worker[] = [];
  let next = 0;
  let closed = false;

  const dispatch = () => {
    while (queue.length > 0 && idle.length > 0) {
      const worker = idle.pop() as Worker;
      const job = queue.shift() as Job;
      held.set(worker, job);
      worker.ref();
      worker.postMessage({ id: job.id, task: job.task, args: job.args }, job.transfer);
    }
    if (queue.length > 0 && workers.length < size && !closed) start();
  };

  const start = () => {
    const worker = new Worker(ThreadScript, { workerData: { module: module.href } });
    workers.push(worker);
    worker.on("message", (reply: Reply) => {
      if ("ready" in reply) {
        worker.unref();
        idle.push(worker);
        return dispatch();
      }
      const job = held.get(worker);
      held.delete(worker);
      worker.unref();
      idle.push(worker);
      if (job && "error" in reply) {
        const error = new Error(reply.error);
        if (reply.stack) error.stack = reply.stack;
        job.reject(error);
      } else if (job && "value" in reply) job.resolve(reply.value);
      dispatch();
    });
    // A thread that dies (out of memory, a failed load) fails what it held and leaves the pool.
    const fail = (error: Error) => {
      // A thread that errs also exits: the second call finds it gone already.
      const index = workers.indexOf(worker);
      if (index < 0) return;
      workers.splice(index, 1);
      const job = held.get(worker);
      held.delete(worker);
      const at = idle.indexOf(worker);
      if (at >= 0) idle.splice(at, 1);
      job?.reject(error);
      // With no thread left to take them, what waits would wait for ever.
      if (workers.length === 0) for (const waiting of queue.splice(0)) waiting.reject(error);
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`task thread exited with code ${code}`)));
  };

  return {
    size,
    run<T>(task: string, args: unknown, transfer: readonly Transferable[] = []) {
      if (closed) return Promise.reject(new Error("the task pool is closed"));
      return new Promise<T>((resolve, reject) => {
        queue.push({ id: next++, task, args, transfer, resolve: resolve as (v: unknown) => void, reject });
        dispatch();
      });
    },
    async close() {
      closed = true;
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

type SharedKind =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;

/** A typed array of `length` elements on shared memory, so task threads read and write it in place. */
export function sharedArray<T extends SharedKind>(
  kind: { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number },
  length: number,
): T {
  return new kind(new SharedArrayBuffer(length * kind.BYTES_PER_ELEMENT));
}
