/**
 * A thread that turns finished logit rows into map values (row.emit.mjs): the softmax's exp per
 * class and pixel is the largest per-pixel cost of inference on the host, and it runs here while
 * the main thread fills and accumulates the next windows. Plain JavaScript: loaded without a
 * TypeScript loader.
 *
 * In:  { id, sums, counts, valid, classes, classIds }   Out: { id, classes, confidence } or { id, error }
 */
import { parentPort } from "node:worker_threads";
import { emitRows } from "./row.emit.mjs";

const port = /** @type {import("node:worker_threads").MessagePort} */ (parentPort);

port.on("message", (job) => {
  try {
    const out = emitRows(job);
    port.postMessage({ id: job.id, ...out }, [out.classes.buffer, out.confidence.buffer]);
  } catch (error) {
    port.postMessage({ id: job.id, error: String(error?.message ?? error) });
  }
});
