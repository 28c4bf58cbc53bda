/**
 * The thread an ONNX session lives on. onnxruntime-node's `session.run()` defers once and then
 * blocks the thread that called it for the whole native run (seconds to minutes for Prithvi on a
 * CPU), so the session runs here and the worker's event loop stays free for heartbeats,
 * cancellation and other tasks. Plain JavaScript: a worker thread loads it without a TS loader.
 *
 * In:  { type: "load", bytes, providers }       Out: { type: "loaded", provider, graph }
 *      { type: "run", id, input, dims, inputName, outputName, lend }
 *                                               Out: { type: "result", id, data, dims, input? }
 *      (with `lend`, the input's buffer comes back with the result, for the caller to fill again)
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
      const tensor = new ort.Tensor("float32", message.input, message.dims);
      const result = await session.run({ [message.inputName]: tensor });
      const output = result[message.outputName];
      if (!output) throw new Error(`the graph gave no output '${message.outputName}'`);
      const data = /** @type {Float32Array} */ (output.data);
      const input = message.lend && message.input.buffer !== data.buffer ? message.input : undefined;
      port.postMessage(
        { type: "result", id: message.id, data, dims: [...output.dims], input },
        input ? [data.buffer, input.buffer] : [data.buffer],
      );
    }
  } catch (error) {
    port.postMessage({ type: "error", id: message.id, message: String(error?.message ?? error) });
  }
});
