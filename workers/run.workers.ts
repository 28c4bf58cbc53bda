import type { Worker } from "@temporalio/worker";
import type { PredictOptions } from "../activities/predict.activities.ts";
import type { Config } from "../lib/config/config.schema.ts";
import { closeModels } from "../lib/model/model.session.ts";
import { createS3Client } from "../lib/storage/s3.client.ts";
import { connectWorker } from "../lib/temporal/worker.connection.ts";
import { preloadModels } from "./model.preload.ts";
import { createCpuWorker, createInferenceWorker } from "./worker.factory.ts";
import { installWorkerRuntime } from "./worker.runtime.ts";

export type Pool = "cpu" | "inference" | "all";

/**
 * Runs the workers of a pool until the process is told to stop (SIGINT/SIGTERM: in-flight
 * activities finish or are handed back). `all` runs both pools in one process, for local runs.
 * `predict` reaches the inference activities (tests inject their hooks here).
 */
export async function runWorkers(pool: Pool, config: Config, predict: PredictOptions = {}): Promise<void> {
  installWorkerRuntime();
  const s3 = createS3Client(config);
  if (pool !== "cpu") await preloadModels(s3, config);
  const connection = await connectWorker(config);
  const workers: Worker[] = [];
  try {
    if (pool !== "inference") workers.push(await createCpuWorker({ connection, config, s3 }));
    if (pool !== "cpu") workers.push(await createInferenceWorker({ connection, config, s3, ...predict }));
    const version = config.workers.versioning;
    console.log(
      `crop-map worker: pool ${pool} on ${config.temporal.address} namespace ${config.temporal.namespace}, queues ${workers.map((w) => w.options.taskQueue).join(", ")}${version ? `, deployment ${version.deploymentName} build ${version.buildId}` : ""}${process.env.CROP_MAP_METRICS_PORT ? `, metrics :${process.env.CROP_MAP_METRICS_PORT}/metrics` : ""}`,
    );
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await closeModels();
    await connection.close();
    s3.destroy();
  }
}
