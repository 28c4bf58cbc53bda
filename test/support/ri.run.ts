import type { Config } from "../../lib/config/config.schema.ts";
import type { RunInput } from "../../lib/contracts/run.contract.ts";

/** A run of Rhode Island in 2022 with the tiny model on the test world, no retries: `extra` adds the rest. */
export function riRunInput(runId: string, config: Config, extra: Partial<RunInput> = {}): RunInput {
  return {
    runId,
    region: { kind: "state", state: "RI" },
    year: 2022,
    model: "crop-tiny",
    chip: { size: 224, stride: 112 },
    retryRounds: 0,
    inferenceQueue: config.taskQueues.inference,
    ...extra,
  };
}
