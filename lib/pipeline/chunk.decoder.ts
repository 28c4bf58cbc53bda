import { createTaskPool, type TaskPool } from "../threads/task.pool.ts";
import type { DecodeRowTask } from "./chunk.decode.ts";
import { type WindowRow, windowRowOn } from "./window.input.ts";

let pool: TaskPool | undefined;

/**
 * Decodes a chunk row (chunk.decode.ts) on the process's decode thread, started on first use,
 * into the buffer of `into` (a window row no window reads any more): the buffer moves to the
 * thread and back filled, so `into` itself is left empty. One thread: a row is decoded once per
 * window row, well ahead of the windows that read it. The row's bytes move to the thread too
 * (copied first unless they are a whole buffer of their own).
 */
export async function decodeOnThread(
  task: Omit<DecodeRowTask, "into"> & { into: WindowRow },
): Promise<WindowRow> {
  pool ??= createTaskPool(new URL("./chunk.decode.ts", import.meta.url), 1);
  const { bytes, header } = task;
  const whole =
    bytes.buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength;
  const own = whole ? bytes : bytes.slice();
  const into = task.into.normalized[0]?.buffer as ArrayBuffer;
  const filled = await pool.run<Uint8Array>("decodeRow", { ...task, bytes: own, into }, [
    own.buffer as ArrayBuffer,
    into,
  ]);
  return windowRowOn(header, filled.buffer as ArrayBuffer);
}
