import { ApplicationFailure } from "@temporalio/workflow";
import type { z } from "zod";
import { describeIssues } from "../lib/contracts/issue.lines.ts";

/** The failure type of a workflow whose input (or a state it checks) does not parse. */
export const InvalidInput = "InvalidInput";

/**
 * Parses a workflow's input with its own schema. A refusal ends the workflow for good with an
 * ApplicationFailure naming the field and value: a plain error thrown by workflow code fails only
 * the workflow task, which Temporal retries forever while the workflow shows Running.
 */
export function parseWorkflowInput<T extends z.ZodType>(schema: T, raw: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw ApplicationFailure.create({
    type: InvalidInput,
    message: `${what}: ${describeIssues(parsed.error, raw)}`,
    nonRetryable: true,
  });
}
