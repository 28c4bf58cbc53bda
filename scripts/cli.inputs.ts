import type { z } from "zod";
import { describeIssues } from "../lib/contracts/issue.lines.ts";
import { InputError } from "./cli.errors.ts";

/** Decimal numbers as a person types them: no hex, exponents, blanks or "Infinity" that Number() takes. */
const DecimalText = /^-?\d+(\.\d+)?$/;

/**
 * A number option, checked against the schema of the field it fills (its bounds, whole or not):
 * one parser for every option, and a refusal shows the text as typed (`--year 'abc'`, never 'NaN').
 */
export function parseNumberOption(text: string, option: string, schema: z.ZodNumber): number {
  const value = DecimalText.test(text) ? Number(text) : Number.NaN;
  if (schema.safeParse(value).success) return value;
  const kind = schema.isInt ? "a whole number" : "a number";
  // A whole number's own limits (the safe integers) are no bound worth telling.
  const bound = (v: number | null) => (v !== null && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined);
  const [min, max] = [bound(schema.minValue), bound(schema.maxValue)];
  const range =
    min !== undefined && max !== undefined
      ? ` from ${min} to ${max}`
      : min !== undefined
        ? ` of at least ${min}`
        : max !== undefined
          ? ` of at most ${max}`
          : "";
  throw new InputError(`--${option} '${text}': expected ${kind}${range}`);
}

/**
 * A workflow's whole input checked with the workflow's own schema before anything starts: what
 * the workflow would refuse is refused here, in one line, exit 2.
 */
export function checkWorkflowInput<T extends z.ZodType>(
  schema: T,
  input: z.input<T>,
  what: string,
): z.input<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new InputError(`${what}: ${describeIssues(parsed.error, input)}`);
  return input;
}
