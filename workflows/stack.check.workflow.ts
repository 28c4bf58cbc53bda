import { proxyActivities } from "@temporalio/workflow";
import type { StorageProbeActivities } from "../activities/activity.types.ts";
import type { ProbeStorageResult } from "../lib/contracts/storage.contract.ts";

const { probeStorage } = proxyActivities<StorageProbeActivities>({
  startToCloseTimeout: "1 minute",
  retry: { maximumAttempts: 3 },
});

/** Probes every storage location from a worker: proves Temporal, the worker and S3 all work together. */
export async function stackCheckWorkflow(): Promise<ProbeStorageResult[]> {
  const locations = ["hls", "cdl", "work", "outputs"] as const;
  return Promise.all(locations.map((location) => probeStorage({ location })));
}
