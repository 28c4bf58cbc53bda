import { availableParallelism } from "node:os";
import { recordBytesRead } from "../metrics/pipeline.metrics.ts";
import { createTaskPool, type TaskPool } from "../threads/task.pool.ts";
import { type ReadRowTask, splitRowTask } from "./chunk.decode.ts";
import type { WindowRow } from "./window.input.ts";

let pool: TaskPool | undefined;

function decodePool(): TaskPool {
  pool ??= createTaskPool(new URL("./chunk.decode.ts", import.meta.url), decodeThreads());
  return pool;
}

/**
 * Decode threads for a host of `cores`: two where there are cores to spare, else one (about 60 MB
 * each with its S3 client). One row is read at a time, one window row ahead of the windows; on a
 * host feeding a GPU, one thread's decoding (about 3 ms a window) would be what bounds inference.
 */
export function decodeThreads(cores = availableParallelism()): number {
  return cores > 3 ? 2 : 1;
}

/**
 * Reads a chunk row and decodes it (chunk.decode.ts) into `into` (shared memory) on the process's
 * decode threads, started on first use: with two, each reads and decodes half the row's chunks.
 */
export async function readOnThread(task: ReadRowTask): Promise<WindowRow> {
  const threads = decodePool();
  const parts = splitRowTask(task, threads.size);
  const read = await Promise.all(parts.map((part) => threads.run<number>("readRow", part)));
  recordBytesRead(read.reduce((a, b) => a + b, 0));
  return task.into;
}
