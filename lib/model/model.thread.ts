import { Worker } from "node:worker_threads";
import type * as ort from "onnxruntime-node";

/** What the pipeline checks of a graph: its input and output names and shapes. */
export interface GraphInfo {
  inputNames: readonly string[];
  outputNames: readonly string[];
  inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
}

/** One named float32 input of a batch. */
export interface Feed {
  name: string;
  data: Float32Array;
  dims: number[];
}

export interface BatchResult {
  data: Float32Array;
  dims: number[];
  /** The inputs, handed back when they were lent (see `runFeeds`). */
  inputs?: Float32Array[];
}

type Reply =
  | { type: "loaded"; graph: GraphInfo }
  | { type: "result"; id: number; data: Float32Array; dims: number[]; inputs?: Float32Array[] }
  | { type: "error"; id?: number; message: string };

const ThreadScript = new URL("./model.thread.mjs", import.meta.url);

/** Batches started and running on every model thread of this process (observability and tests). */
export const InferenceCounters = { batchesStarted: 0, batchesRunning: 0 };

/**
 * An ONNX session on its own worker thread (model.thread.mjs): `run` returns a promise while the
 * native run blocks that thread, not this one. Batches queue on the thread one after another.
 */
export class ModelThread {
  private readonly pending = new Map<
    number,
    { resolve: (r: BatchResult) => void; reject: (e: Error) => void }
  >();
  private next = 1;
  private failure: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly graph: GraphInfo,
  ) {
    worker.on("message", (reply: Reply) => {
      if (reply.type === "loaded" || reply.id === undefined) return;
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      InferenceCounters.batchesRunning--;
      if (reply.type === "result")
        waiting.resolve({
          data: reply.data,
          dims: reply.dims,
          ...(reply.inputs ? { inputs: reply.inputs } : {}),
        });
      else waiting.reject(new Error(reply.message));
    });
    // A thread that dies (out of memory, a native crash) fails what it held; the activity retries.
    const fail = (error: Error) => {
      this.failure = error;
      for (const waiting of this.pending.values()) waiting.reject(error);
      InferenceCounters.batchesRunning -= this.pending.size;
      this.pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`model thread exited with code ${code}`)));
  }

  /** Starts a thread and creates the session there; rejects with onnxruntime's message. */
  static async open(bytes: Uint8Array, providers: string[]): Promise<ModelThread> {
    const worker = new Worker(ThreadScript);
    // The thread never keeps a finished process alive; pending runs are awaited by their callers.
    worker.unref();
    try {
      const graph = await new Promise<GraphInfo>((resolve, reject) => {
        const onMessage = (reply: Reply) => {
          worker.off("message", onMessage);
          worker.off("error", reject);
          if (reply.type === "loaded") resolve(reply.graph);
          else reject(new Error(reply.type === "error" ? reply.message : "unexpected reply"));
        };
        worker.on("message", onMessage);
        worker.on("error", reject);
        worker.postMessage({ type: "load", bytes, providers });
      });
      return new ModelThread(worker, graph);
    } catch (error) {
      await worker.terminate();
      throw error;
    }
  }

  /** Runs one batch of a graph with one input (see `runFeeds`). */
  run(input: Float32Array, dims: number[], inputName: string, outputName: string, lend = false) {
    return this.runFeeds([{ name: inputName, data: input, dims }], outputName, lend);
  }

  /**
   * Runs one batch; the output comes back without a copy. The inputs are copied to the thread, or
   * with `lend` moved there (unusable here meanwhile: no copy of a whole batch) and handed back in
   * the result.
   */
  runFeeds(feeds: Feed[], outputName: string, lend = false): Promise<BatchResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.next++;
    const sent = lend ? feeds : feeds.map((f) => ({ name: f.name, data: f.data.slice(), dims: f.dims }));
    return new Promise<BatchResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      InferenceCounters.batchesStarted++;
      InferenceCounters.batchesRunning++;
      this.worker.postMessage(
        { type: "run", id, feeds: sent, outputName, lend },
        sent.map((f) => f.data.buffer as ArrayBuffer),
      );
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
