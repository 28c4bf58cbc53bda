import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import type { Config } from "../../lib/config/config.schema.ts";
import { formatS3Url } from "../../lib/core/s3.url.ts";

/** The environment that points a separate crop-map process at the same servers, buckets and queues. */
export function configEnv(config: Config): Record<string, string> {
  return {
    CROP_MAP_TEMPORAL_ADDRESS: config.temporal.address,
    CROP_MAP_TEMPORAL_NAMESPACE: config.temporal.namespace,
    CROP_MAP_TEMPORAL_UI_URL: config.temporal.uiUrl,
    CROP_MAP_S3_ENDPOINT: config.s3.endpoint ?? "",
    CROP_MAP_HLS_URL: formatS3Url(config.storage.hls),
    CROP_MAP_CDL_URL: formatS3Url(config.storage.cdl),
    CROP_MAP_WORK_URL: formatS3Url(config.storage.work),
    CROP_MAP_OUTPUTS_URL: formatS3Url(config.storage.outputs),
    CROP_MAP_TASK_QUEUE_CPU: config.taskQueues.cpu,
    CROP_MAP_TASK_QUEUE_INFERENCE: config.taskQueues.inference,
  };
}

/** A worker in its own process (so a test can kill it like a crashed host); its output is kept for failures. */
export function spawnWorker(
  pool: "cpu" | "inference" | "all",
  config: Config,
  extraEnv: Record<string, string> = {},
  hooks: { rowDelayMs?: number } = {},
) {
  const bin = join(import.meta.dirname, "..", "..", "bin", "crop-map.js");
  // The product's worker command has no test hooks: a slowed worker runs the test's own entry.
  const args =
    hooks.rowDelayMs === undefined
      ? [bin, "worker", "--pool", pool]
      : ["--import", "tsx", join(import.meta.dirname, "hooked.worker.ts"), pool, String(hooks.rowDelayMs)];
  const child: ChildProcess = spawn("node", args, {
    env: { ...process.env, ...configEnv(config), ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d) => {
    output += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  return {
    child,
    output: () => output,
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}
