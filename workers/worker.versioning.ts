import type { WorkerDeploymentOptions } from "@temporalio/worker";
import type { Config } from "../lib/config/config.schema.ts";

/**
 * Worker versioning (Temporal Worker Deployments). With `workers.versioning` set, a worker
 * declares its deployment and build id, and every workflow it starts is PINNED to that version:
 * a run keeps its code for its whole life, so new code deployed during a three-day continental
 * run serves only runs started after the new version is made current. Unset: unversioned workers
 * (the local stack), which a dev server serves without any deployment set-up.
 */
export function workerDeploymentOptions(
  config: Pick<Config, "workers">,
): { workerDeploymentOptions: WorkerDeploymentOptions } | Record<string, never> {
  const versioning = config.workers.versioning;
  if (!versioning) return {};
  return {
    workerDeploymentOptions: {
      version: { deploymentName: versioning.deploymentName, buildId: versioning.buildId },
      useWorkerVersioning: true,
      defaultVersioningBehavior: "PINNED",
    },
  };
}
