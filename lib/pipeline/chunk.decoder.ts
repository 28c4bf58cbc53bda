import { recordBytesRead } from "../metrics/pipeline.metrics.ts";
import { createTaskPool, type TaskPool } from "../threads/task.pool.ts";
import type { ReadRowTask } from "./chunk.decode.ts";
import type { WindowRow } from "./window.input.ts";

let pool: TaskPool | undefined;

/**
 * Reads a chunk row and decodes it (chunk.decode.ts) into `into` (shared memory) on one of the
 * process's two decode threads, started on first use. Two, so that one row's GET waits on the
 * network while the row before is decoded; rows are read once per window row, well ahead of the
 * windows that read them.
 */
export async function readOnThread(task: ReadRowTask): Promise<WindowRow> {
  pool ??= createTaskPool(new URL("./chunk.decode.ts", import.meta.url), 2);
  recordBytesRead(await pool.run<number>("readRow", task));
  return task.into;
}
