import type { ActivityOptions } from "@temporalio/workflow";
import { ActivityRetry } from "../lib/contracts/retry.policies.ts";
import { NonRetryableArchiveErrors } from "../lib/errors/archive.errors.ts";

/**
 * How a tile's CPU activities run, for maps and training data alike: half an hour each, a
 * heartbeat within the given seconds, and a refused archive login failing the tile at once
 * (retrying would only repeat the refusal).
 */
export function tileActivityOptions(heartbeatSeconds: number): ActivityOptions {
  return {
    startToCloseTimeout: "30m",
    heartbeatTimeout: `${heartbeatSeconds}s`,
    retry: { ...ActivityRetry, nonRetryableErrorTypes: NonRetryableArchiveErrors },
  };
}
