import { proxyActivities } from "@temporalio/workflow";
import type { TrainActivities } from "../activities/activity.types.ts";
import { ActivityRetry } from "../lib/contracts/retry.policies.ts";
import { type TrainedModel, type TrainInput, TrainInputParser } from "../lib/contracts/train.contract.ts";
import { parseWorkflowInput } from "./workflow.input.ts";

/**
 * Fine-tunes a model on a chips dataset and registers it by name (`crop-map train`): one long
 * activity on the inference pool (GPU hosts), heartbeating every step. A lost worker is noticed
 * within a heartbeat timeout and the retry resumes from the last epoch's checkpoint; a cancelled
 * workflow stops the trainer at its next step.
 */
export async function trainWorkflow(raw: TrainInput): Promise<TrainedModel> {
  const input = parseWorkflowInput(TrainInputParser, raw, "train");
  const { trainModel } = proxyActivities<TrainActivities>({
    taskQueue: input.inferenceQueue,
    // The seed's 80 epochs of Prithvi-100M are hours on one GPU; days on a CPU.
    startToCloseTimeout: "30 days",
    heartbeatTimeout: `${input.heartbeatSeconds}s`,
    retry: ActivityRetry,
  });
  return trainModel(input);
}
