/**
 * The thread an ONNX session lives on. onnxruntime-node's `session.run()` defers once and then
 * blocks the thread that called it for the whole native run (seconds to minutes for Prithvi on a
 * CPU), so the session runs here and the worker's event loop stays free for heartbeats,
 * cancellation and other tasks. Plain JavaScript: a worker thread loads it without a TS loader.
 *
 * In:  { type: "load", bytes, providers }       Out: { type: "loaded", provider, graph }
 *      { type: "run", id, feeds: [{ name, data, dims }], outputName, lend }
 *                                               Out: { type: "result", id, data, dims, inputs? }
 *      (with `lend`, the inputs' buffers come back with the result, for the caller to fill again)
 * Any failure:                                  Out: { type: "error", id, message }
 */
import { parentPort } from "node:worker_threads";
import * as ort from "onnxruntime-node";

/** @type {ort.InferenceSession | undefined} */
let session;

const port = /** @type {import("node:worker_threads").MessagePort} */ (parentPort);

port.on("message", async (message) => {
  try {
    if (message.type === "load") {
      session = await ort.InferenceSession.create(message.bytes, {
        executionProviders: message.providers,
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
      const feeds = Object.fromEntries(
        message.feeds.map((f) => [f.name, new ort.Tensor("float32", f.data, f.dims)]),
      );
      const result = await session.run(feeds);
      const output = result[message.outputName];
      if (!output) throw new Error(`the graph gave no output '${message.outputName}'`);
      const data = /** @type {Float32Array} */ (output.data);
      const inputs = message.lend
        ? message.feeds.map((f) => f.data).filter((d) => d.buffer !== data.buffer)
        : undefined;
      port.postMessage({ type: "result", id: message.id, data, dims: [...output.dims], inputs }, [
        data.buffer,
        ...(inputs ?? []).map((d) => d.buffer),
      ]);
    }
  } catch (error) {
    port.postMessage({ type: "error", id: message.id, message: String(error?.message ?? error) });
  }
});
