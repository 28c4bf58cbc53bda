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
}

type Reply =
  | { type: "loaded"; graph: GraphInfo }
  | { type: "result"; id: number; data?: Float32Array; dims: number[] }
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
    { resolve: (r: Reply & { type: "result" }) => void; reject: (e: Error) => void }
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
      if (reply.type === "result") waiting.resolve(reply);
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
  run(input: Float32Array, dims: number[], inputName: string, outputName: string) {
    return this.runFeeds([{ name: inputName, data: input, dims }], outputName);
  }

  /** Runs one batch; the inputs are copied to the thread, the output comes back without a copy. */
  async runFeeds(feeds: Feed[], outputName: string): Promise<BatchResult> {
    const sent = feeds.map((f) => ({ name: f.name, data: f.data.slice(), dims: f.dims }));
    const reply = await this.post(
      sent,
      outputName,
      false,
      sent.map((f) => f.data.buffer as ArrayBuffer),
    );
    return { data: reply.data as Float32Array, dims: reply.dims };
  }

  /**
   * Runs one batch whose input sits on a SharedArrayBuffer: nothing is copied or moved here, and
   * the output comes back written over the input (a view of its buffer) when it fits there; so
   * batch after batch, no buffer is made or handed over on this thread, which would otherwise
   * cost garbage collections of tens of MB a batch. The input must not be touched until then.
   * `further` inputs (small ones) are copied as usual.
   */
  async runShared(
    input: Float32Array,
    dims: number[],
    inputName: string,
    outputName: string,
    further: Feed[] = [],
  ) {
    const reply = await this.post([{ name: inputName, data: input, dims }, ...further], outputName, true, []);
    const length = reply.dims.reduce((a, b) => a * b, 1);
    return {
      data: reply.data ?? new Float32Array(input.buffer, input.byteOffset, length),
      dims: reply.dims,
    };
  }

  private post(feeds: Feed[], outputName: string, shared: boolean, transfer: ArrayBuffer[]) {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.next++;
    return new Promise<Reply & { type: "result" }>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      InferenceCounters.batchesStarted++;
      InferenceCounters.batchesRunning++;
      this.worker.postMessage({ type: "run", id, feeds, outputName, shared }, transfer);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
