import { fileURLToPath } from "node:url";
import type { S3Client } from "@aws-sdk/client-s3";
import {
  bundleWorkflowCode,
  type NativeConnection,
  Worker,
  type WorkflowBundleWithSourceMap,
} from "@temporalio/worker";
import { createStorageProbeActivities } from "../activities/storage.probe.activities.ts";
import type { Config } from "../lib/config/config.schema.ts";

export const WorkflowsPath = fileURLToPath(new URL("../workflows/index.ts", import.meta.url));

/** Bundles the workflows once; a process that starts several workers passes the bundle to each. */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: WorkflowsPath, logger: quietBundlerLogger });
}

const quietBundlerLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

export interface CpuWorkerOptions {
  connection: NativeConnection;
  config: Config;
  s3: S3Client;
  /** Defaults to the configured CPU queue. */
  taskQueue?: string;
  bundle?: WorkflowBundleWithSourceMap;
}

/** The CPU pool: workflows plus the activities that read, warp and write rasters. */
export async function createCpuWorker(options: CpuWorkerOptions): Promise<Worker> {
  const { config, s3 } = options;
  return Worker.create({
    connection: options.connection,
    namespace: config.temporal.namespace,
    taskQueue: options.taskQueue ?? config.taskQueues.cpu,
    workflowBundle: options.bundle ?? (await bundleWorkflows()),
    activities: { ...createStorageProbeActivities(s3, config) },
  });
}
