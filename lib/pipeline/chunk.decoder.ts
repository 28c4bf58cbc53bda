import { recordBytesRead } from "../metrics/pipeline.metrics.ts";
import { createTaskPool, type TaskPool } from "../threads/task.pool.ts";
import type { ReadRowTask } from "./chunk.decode.ts";
import type { WindowRow } from "./window.input.ts";

let pool: TaskPool | undefined;

/**
 * Reads a chunk row and decodes it (chunk.decode.ts) into `into` (shared memory) on the process's
 * decode thread, started on first use. One thread (about 60 MB with its S3 client): a chunk row is
 * read once per window row, one row ahead of the windows that read it, so one read is in flight.
 */
export async function readOnThread(task: ReadRowTask): Promise<WindowRow> {
  pool ??= createTaskPool(new URL("./chunk.decode.ts", import.meta.url), 1);
  recordBytesRead(await pool.run<number>("readRow", task));
  return task.into;
}
