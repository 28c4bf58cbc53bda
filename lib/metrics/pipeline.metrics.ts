import type { S3Client } from "@aws-sdk/client-s3";
import type { MetricCounter, MetricHistogram, MetricMeter } from "@temporalio/common";
import type { ActivityInterceptorsFactory } from "@temporalio/worker";

/**
 * The pipeline's own metrics, exported beside the Temporal SDK's on the worker's Prometheus
 * endpoint (they go through the SDK runtime's meter). Nothing is recorded until a worker process
 * turns metrics on (`enablePipelineMetrics`), so CLI processes and tests pay nothing.
 */
export const PipelineMetricNames = {
  tilesDone: "crop_map_tiles_done",
  tilesFailed: "crop_map_tiles_failed",
  activityFailures: "crop_map_activity_failures",
  stageSeconds: "crop_map_stage_seconds",
  windows: "crop_map_windows",
  inferenceSeconds: "crop_map_inference_seconds",
  inferenceBatchSeconds: "crop_map_inference_batch_seconds",
  bytesRead: "crop_map_bytes_read",
} as const;

interface Instruments {
  tilesDone: MetricCounter;
  tilesFailed: MetricCounter;
  activityFailures: MetricCounter;
  stageSeconds: MetricHistogram;
  windows: MetricCounter;
  inferenceSeconds: MetricCounter;
  inferenceBatchSeconds: MetricHistogram;
  bytesRead: MetricCounter;
}

let instruments: Instruments | undefined;

/** Creates the instruments on the runtime's meter; called once by a worker process with metrics on. */
export function enablePipelineMetrics(meter: MetricMeter): void {
  const n = PipelineMetricNames;
  instruments = {
    tilesDone: meter.createCounter(n.tilesDone, "", "tiles whose manifest was written"),
    tilesFailed: meter.createCounter(n.tilesFailed, "", "tile activities failed for good (non-retryable)"),
    activityFailures: meter.createCounter(n.activityFailures, "", "activity attempts that threw"),
    stageSeconds: meter.createHistogram(n.stageSeconds, "float", "s", "seconds per activity, by stage"),
    windows: meter.createCounter(n.windows, "", "model windows run (rate: windows/s)"),
    inferenceSeconds: meter.createCounter(n.inferenceSeconds, "s", "seconds spent in predictTile"),
    inferenceBatchSeconds: meter.createHistogram(
      n.inferenceBatchSeconds,
      "float",
      "s",
      "seconds per ONNX session run (one batch)",
    ),
    bytesRead: meter.createCounter(n.bytesRead, "By", "bytes read from S3 (GetObject bodies)"),
  };
}

/** Seconds of one ONNX batch; the inference worker's session runs are wrapped once per process. */
export function recordInferenceBatch(seconds: number): void {
  instruments?.inferenceBatchSeconds.record(seconds);
}

function isNonRetryable(error: unknown): boolean {
  return (
    typeof error === "object" && error !== null && (error as { nonRetryable?: boolean }).nonRetryable === true
  );
}

/**
 * Stage timings, tile outcomes and window counts, taken around every activity so that the
 * activities themselves stay free of metrics code.
 */
export const pipelineActivityInterceptor: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      const m = instruments;
      if (!m) return next(input);
      const stage = ctx.info.activityType;
      const started = performance.now();
      try {
        const result = await next(input);
        const seconds = (performance.now() - started) / 1000;
        m.stageSeconds.record(seconds, { stage });
        if (stage === "writeTileManifest") m.tilesDone.add(1);
        if (stage === "predictTile") {
          const run = (result as { windows?: { run?: number } } | undefined)?.windows?.run;
          if (typeof run === "number") m.windows.add(run);
          m.inferenceSeconds.add(seconds);
        }
        return result;
      } catch (error) {
        const nonRetryable = isNonRetryable(error);
        m.activityFailures.add(1, { stage, retryable: String(!nonRetryable) });
        if (nonRetryable) m.tilesFailed.add(1, { stage });
        throw error;
      }
    },
  },
});

/**
 * Bytes of object bodies read, counted once by the process that reports metrics (a thread with a
 * client of its own hands its count here).
 */
export function recordBytesRead(bytes: number): void {
  if (bytes > 0) instruments?.bytesRead.add(bytes);
}

/** Counts the body bytes of every GetObject answer of a client (HLS bands, staged stacks, labels). */
export function countBytesRead(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      if (context.commandName === "GetObjectCommand") {
        const length = Number(
          (out.response as { headers?: Record<string, string> }).headers?.["content-length"],
        );
        if (Number.isFinite(length)) recordBytesRead(length);
      }
      return out;
    },
    { step: "deserialize", name: "cropMapBytesRead" },
  );
}
