/**
 * A task thread: loads one TypeScript module of task functions (through tsx, since a worker
 * thread does not inherit its parent's loader in every host: vitest forks, the CLI, tsx) and runs
 * the tasks it is sent, one at a time. Plain JavaScript, so a thread starts without a TS loader.
 *
 * workerData: { module: file URL of the task module }
 * In:  { id, task, args }        Out: { id, value } or { id, error, stack }
 * Large non-shared buffers in a result are moved to the parent, not copied.
 */
import { parentPort, workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const tasks = await import(workerData.module);
const port = /** @type {import("node:worker_threads").MessagePort} */ (parentPort);

/** Buffers worth moving: whole, unshared and large (small Node buffers share a pool, never moved). */
function transferables(value, found = new Set()) {
  if (ArrayBuffer.isView(value)) {
    const buffer = value.buffer;
    if (
      buffer instanceof ArrayBuffer &&
      value.byteLength === buffer.byteLength &&
      buffer.byteLength >= 1 << 16
    )
      found.add(buffer);
  } else if (Array.isArray(value)) {
    for (const item of value) transferables(item, found);
  } else if (value !== null && typeof value === "object") {
    for (const item of Object.values(value)) transferables(item, found);
  }
  return found;
}

port.on("message", async ({ id, task, args }) => {
  try {
    const run = tasks[task];
    if (typeof run !== "function") throw new Error(`no task '${task}' in ${workerData.module}`);
    const value = await run(args);
    port.postMessage({ id, value }, [...transferables(value)]);
  } catch (error) {
    port.postMessage({ id, error: String(error?.message ?? error), stack: error?.stack });
  }
});
port.postMessage({ ready: true });
