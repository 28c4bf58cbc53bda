import { createTaskPool, type TaskPool } from "../threads/task.pool.ts";
import type { DecodeRowTask } from "./chunk.decode.ts";
import type { WindowRow } from "./window.input.ts";

let pool: TaskPool | undefined;

/**
 * Decodes a chunk row (chunk.decode.ts) into `into` (shared memory) on the process's decode
 * thread, started on first use. One thread: a row is decoded once per window row, well ahead of
 * the windows that read it. The row's bytes move to the thread (copied first unless they are a
 * whole buffer of their own).
 */
export async function decodeOnThread(task: DecodeRowTask): Promise<WindowRow> {
  pool ??= createTaskPool(new URL("./chunk.decode.ts", import.meta.url), 1);
  const { bytes } = task;
  const whole =
    bytes.buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength;
  const own = whole ? bytes : bytes.slice();
  await pool.run<void>("decodeRow", { ...task, bytes: own }, [own.buffer as ArrayBuffer]);
  return task.into;
}
