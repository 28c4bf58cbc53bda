import { ApplicationFailure } from "@temporalio/activity";
import type { z } from "zod";
import { describeIssues } from "../lib/contracts/issue.lines.ts";

/**
 * Failure types by intent. Plain errors are transient (S3 5xx, timeouts, a lost worker) and
 * retried by the activity's retry policy; these are not, because retrying cannot fix them.
 */
export const FailureType = {
  /** An activity input that does not parse. */
  BadInput: "BadInput",
  /** A file the pipeline needs is missing or unreadable (band, COG, stack). */
  BadData: "BadData",
  /** A tile has no granule good enough in a season window. */
  NoUsableGranule: "NoUsableGranule",
  /** The model file does not match its manifest. */
  ModelMismatch: "ModelMismatch",
} as const;

export function nonRetryable(type: keyof typeof FailureType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** Parses an activity input; bad input fails the activity for good, naming the field and value. */
export function parseInput<T extends z.ZodType>(parser: T, raw: unknown, activity: string): z.output<T> {
  const parsed = parser.safeParse(raw);
  if (!parsed.success) throw nonRetryable("BadInput", `${activity}: ${describeIssues(parsed.error, raw)}`);
  return parsed.data;
}
