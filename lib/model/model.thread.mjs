/**
 * The thread an ONNX session lives on. onnxruntime-node's `session.run()` defers once and then
 * blocks the thread that called it for the whole native run (seconds to minutes for Prithvi on a
 * CPU), so the session runs here and the worker's event loop stays free for heartbeats,
 * cancellation and other tasks. Plain JavaScript: a worker thread loads it without a TS loader.
 *
 * In:  { type: "load", bytes, providers }       Out: { type: "loaded", provider, graph }
 *      { type: "run", id, feeds: [{ name, data, dims }], outputName, shared }
 *                                               Out: { type: "result", id, data?, dims }
 *      (with `shared`, the first input sits on a SharedArrayBuffer, which onnxruntime does not
 *      take: it is copied into this thread's own buffer, and the output is written back over it
 *      when it fits, so `data` is absent and nothing is transferred; else `data` is the output)
 * Any failure:                                  Out: { type: "error", id, message }
 */
import { parentPort } from "node:worker_threads";
import * as ort from "onnxruntime-node";

/** @type {ort.InferenceSession | undefined} */
let session;

/**
 * This thread's copies of shared inputs, each as large as the shared buffer, kept from batch to
 * batch (a new buffer per batch would be tens of MB of garbage each time). Two: the next batch's
 * message arrives while a run waits to start, and must not overwrite its input.
 * @type {Float32Array[]}
 */
const spare = [];

/** @param {Float32Array} shared */
function ownCopy(shared) {
  const capacity = shared.buffer.byteLength / 4;
  const at = spare.findIndex((a) => a.length === capacity);
  const own = at >= 0 ? spare.splice(at, 1)[0] : new Float32Array(capacity);
  own.set(shared);
  return own;
}

/** @param {Float32Array[]} owned */
function giveBack(owned) {
  spare.push(...owned);
  spare.splice(0, spare.length - 2);
}

const port = /** @type {import("node:worker_threads").MessagePort} */ (parentPort);

port.on("message", async (message) => {
  try {
    if (message.type === "load") {
      session = await ort.InferenceSession.create(message.bytes, {
        executionProviders: message.providers,
        // onnxruntime's pool threads spin between parallel sections by default: CPU the host's
        // threads (filling, accumulating, emitting) need on a small machine. Measured on 2 cores
        // with crop-tiny: about half the CPU per window, and no slower.
        extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
      });
      port.postMessage({
        type: "loaded",
        graph: {
          inputNames: session.inputNames,
          outputNames: session.outputNames,
          inputMetadata: session.inputMetadata,
          outputMetadata: session.outputMetadata,
        },
      });
    } else if (message.type === "run") {
      if (!session) throw new Error("no session loaded");
      // Only the first feed (the chips) is shared; further ones (a TL model's dates and places) are small copies.
      const owned = message.shared ? [ownCopy(message.feeds[0].data)] : [];
      try {
        const feeds = Object.fromEntries(
          message.feeds.map((f, i) => [
            f.name,
            new ort.Tensor("float32", owned[i]?.subarray(0, f.data.length) ?? f.data, f.dims),
          ]),
        );
        const result = await session.run(feeds);
        const output = result[message.outputName];
        if (!output) throw new Error(`the graph gave no output '${message.outputName}'`);
        const data = /** @type {Float32Array} */ (output.data);
        const dims = [...output.dims];
        const slot = message.shared ? message.feeds[0].data : undefined;
        if (slot && data.length <= slot.length) {
          slot.set(data);
          port.postMessage({ type: "result", id: message.id, dims });
        } else port.postMessage({ type: "result", id: message.id, data, dims }, [data.buffer]);
      } finally {
        giveBack(owned);
      }
    }
  } catch (error) {
    port.postMessage({ type: "error", id: message.id, message: String(error?.message ?? error) });
  }
});
