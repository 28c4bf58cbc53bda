import { fileURLToPath } from "node:url";
import type { S3Client } from "@aws-sdk/client-s3";
import {
  bundleWorkflowCode,
  type NativeConnection,
  Worker,
  type WorkflowBundleOption,
  type WorkflowBundleWithSourceMap,
} from "@temporalio/worker";
import { createChipActivities } from "../activities/chips.activities.ts";
import { createDatasetActivities } from "../activities/dataset.activities.ts";
import { createGranuleActivities } from "../activities/granules.activities.ts";
import { createLabelActivities } from "../activities/labels.activities.ts";
import { createMosaicActivities } from "../activities/mosaic.activities.ts";
import { createPredictActivities, type PredictOptions } from "../activities/predict.activities.ts";
import { createReportActivities } from "../activities/report.activities.ts";
import { createRunActivities } from "../activities/run.activities.ts";
import { createSeriesDatasetActivities } from "../activities/series.dataset.activities.ts";
import { createSeriesPredictActivities } from "../activities/series.predict.activities.ts";
import { createSeriesSampleActivities } from "../activities/series.samples.activities.ts";
import { createSeriesStageActivities } from "../activities/series.stage.activities.ts";
import { createStageActivities } from "../activities/stage.activities.ts";
import { createStorageProbeActivities } from "../activities/storage.probe.activities.ts";
import { createTileOutputActivities } from "../activities/tile.output.activities.ts";
import { createTrainActivities } from "../activities/train.activities.ts";
import type { Config } from "../lib/config/config.schema.ts";
import { createHlsArchive } from "../lib/hls/archive.factory.ts";
import type { HlsArchive } from "../lib/hls/hls.archive.ts";
import { pipelineActivityInterceptor } from "../lib/metrics/pipeline.metrics.ts";
import { checkInferenceDevice } from "../lib/model/model.session.ts";
import { shutdownGrace } from "./worker.runtime.ts";
import { workerDeploymentOptions } from "./worker.versioning.ts";

export const WorkflowsPath = fileURLToPath(new URL("../workflows/index.ts", import.meta.url));

const quietBundlerLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

/** Bundles the workflows once; a process that starts several workers passes the bundle to each. */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: WorkflowsPath, logger: quietBundlerLogger });
}

/**
 * The bundle a worker runs: the one images prebuild (scripts/build-workflow-bundle.ts), named in
 * CROP_MAP_WORKFLOW_BUNDLE, else bundled now.
 */
export async function workflowBundle(env = process.env): Promise<WorkflowBundleOption> {
  const prebuilt = env.CROP_MAP_WORKFLOW_BUNDLE;
  return prebuilt ? { codePath: prebuilt } : bundleWorkflows();
}

export interface WorkerOptions {
  connection: NativeConnection;
  config: Config;
  s3: S3Client;
  /** The HLS archive as `archive.access` reaches it; built here when not given (one per worker). */
  archive?: HlsArchive;
  /** Defaults to the pool's configured queue. */
  taskQueue?: string;
  bundle?: WorkflowBundleOption;
}

/** The CPU pool: every workflow, and the activities that list, read, warp and write rasters. */
export async function createCpuWorker(options: WorkerOptions): Promise<Worker> {
  const { config, s3 } = options;
  const archive = options.archive ?? createHlsArchive(config);
  return Worker.create({
    connection: options.connection,
    namespace: config.temporal.namespace,
    taskQueue: options.taskQueue ?? config.taskQueues.cpu,
    workflowBundle: options.bundle ?? (await workflowBundle()),
    maxConcurrentActivityTaskExecutions: config.workers.cpuConcurrency,
    interceptors: { activity: [pipelineActivityInterceptor] },
    ...workerDeploymentOptions(config),
    ...shutdownGrace(),
    activities: {
      ...createStorageProbeActivities(s3, config),
      ...createLabelActivities(s3, config),
      ...createGranuleActivities(s3, config, archive),
      ...createStageActivities(s3, config, archive),
      ...createSeriesStageActivities(s3, config, archive),
      ...createTileOutputActivities(s3, config),
      ...createRunActivities(s3, config),
      ...createMosaicActivities(s3, config),
      ...createReportActivities(s3, config),
      ...createChipActivities(s3, config, archive),
      ...createDatasetActivities(s3, config),
      ...createSeriesSampleActivities(s3, config),
      ...createSeriesDatasetActivities(s3, config),
    },
  });
}

/**
 * The inference pool: model inference, one ONNX session per model file per process, each on its
 * own thread, and fine-tuning (GPU hosts poll this queue). A CUDA worker whose GPU does not start fails here,
 * unless `inference.allowCpuFallback`.
 */
export async function createInferenceWorker(options: WorkerOptions & PredictOptions): Promise<Worker> {
  const { config, s3, modelsDir, afterRow, tilesRunning } = options;
  const predict = { modelsDir, afterRow, tilesRunning };
  await checkInferenceDevice(config.inference, (line) => console.error(line));
  return Worker.create({
    connection: options.connection,
    namespace: config.temporal.namespace,
    taskQueue: options.taskQueue ?? config.taskQueues.inference,
    maxConcurrentActivityTaskExecutions: config.workers.inferenceConcurrency,
    interceptors: { activity: [pipelineActivityInterceptor] },
    ...workerDeploymentOptions(config),
    ...shutdownGrace(),
    activities: {
      ...createPredictActivities(s3, config, predict),
      ...createSeriesPredictActivities(s3, config, predict),
      ...createTrainActivities(s3, config),
    },
  });
}
