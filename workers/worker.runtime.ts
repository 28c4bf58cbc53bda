import { DefaultLogger, type LogEntry, Runtime, type RuntimeOptions } from "@temporalio/worker";
import * as ort from "onnxruntime-node";
import { enablePipelineMetrics, recordInferenceBatch } from "../lib/metrics/pipeline.metrics.ts";

/** One JSON object a line, for log collectors: time, level, message and the SDK's fields. */
function jsonLine(entry: LogEntry): void {
  const line = {
    time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(),
    level: entry.level,
    message: entry.message,
    ...entry.meta,
  };
  const text = JSON.stringify(line, (_key, value) => (typeof value === "bigint" ? String(value) : value));
  if (entry.level === "ERROR" || entry.level === "WARN") console.error(text);
  else console.log(text);
}

/** The worker's runtime options from its environment: Prometheus metrics and the log format. */
export function workerRuntimeOptions(env: NodeJS.ProcessEnv = process.env): RuntimeOptions {
  const format = env.CROP_MAP_LOG_FORMAT ?? "text";
  if (format !== "text" && format !== "json")
    throw new Error(`CROP_MAP_LOG_FORMAT='${format}': expected text or json`);
  const port = env.CROP_MAP_METRICS_PORT;
  if (port !== undefined && !/^\d{1,5}$/.test(port))
    throw new Error(`CROP_MAP_METRICS_PORT='${port}': expected a port number`);
  return {
    logger: format === "json" ? new DefaultLogger("INFO", jsonLine) : new DefaultLogger("INFO"),
    ...(port
      ? {
          telemetryOptions: {
            metrics: {
              prometheus: {
                bindAddress: `0.0.0.0:${port}`,
                countersTotalSuffix: true,
                useSecondsForDurations: true,
              },
            },
          },
        }
      : {}),
  };
}

let wrapped = false;

/** Times every ONNX session run (one batch) without touching the inference code itself. */
function timeOnnxBatches(): void {
  if (wrapped) return;
  wrapped = true;
  const proto = (
    ort.InferenceSession as unknown as { prototype: { run: (...args: unknown[]) => Promise<unknown> } }
  ).prototype;
  const run = proto.run;
  proto.run = async function (this: unknown, ...args: unknown[]) {
    const started = performance.now();
    try {
      return await run.apply(this, args);
    } finally {
      recordInferenceBatch((performance.now() - started) / 1000);
    }
  };
}

/**
 * Installs the Temporal runtime of a worker process, before its first connection: with
 * CROP_MAP_METRICS_PORT set, the SDK's metrics and the pipeline's are served at
 * `http://<host>:<port>/metrics`; CROP_MAP_LOG_FORMAT=json writes JSON log lines.
 */
export function installWorkerRuntime(env: NodeJS.ProcessEnv = process.env): void {
  const options = workerRuntimeOptions(env);
  const runtime = Runtime.install(options);
  if (options.telemetryOptions?.metrics) {
    enablePipelineMetrics(runtime.metricMeter);
    timeOnnxBatches();
  }
}

/**
 * How long a stopping worker lets its in-flight activities finish (CROP_MAP_SHUTDOWN_GRACE_SECONDS,
 * default 0: cancelled at once, a retry resumes from the last checkpoint). A pod sets it below its
 * terminationGracePeriodSeconds and above one inference batch, so a scale-down loses no batch.
 */
export function shutdownGrace(env: NodeJS.ProcessEnv = process.env): { shutdownGraceTime?: number } {
  const raw = env.CROP_MAP_SHUTDOWN_GRACE_SECONDS;
  if (raw === undefined) return {};
  if (!/^\d+$/.test(raw)) throw new Error(`CROP_MAP_SHUTDOWN_GRACE_SECONDS='${raw}': expected whole seconds`);
  return { shutdownGraceTime: Number(raw) * 1000 };
}
