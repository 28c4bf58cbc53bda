import { proxyActivities } from "@temporalio/workflow";
import { z } from "zod";
import type { StorageProbeActivities } from "../activities/activity.types.ts";
import type { ProbeStorageResult } from "../lib/contracts/storage.contract.ts";
import { parseWorkflowInput } from "./workflow.input.ts";

const { probeStorage } = proxyActivities<StorageProbeActivities>({
  startToCloseTimeout: "1 minute",
  retry: { maximumAttempts: 3 },
});

/** Probes every storage location from a worker: proves Temporal, the worker and S3 all work together. */
export async function stackCheckWorkflow(raw?: unknown): Promise<ProbeStorageResult[]> {
  // It takes nothing: an argument means a caller that expects some other workflow.
  parseWorkflowInput(z.undefined({ error: "takes no input" }), raw, "stack check");
  const locations = ["hls", "cdl", "work", "outputs"] as const;
  return Promise.all(locations.map((location) => probeStorage({ location })));
}
