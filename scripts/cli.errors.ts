import type { WorkflowFailedError } from "@temporalio/client";
import { CommanderError } from "commander";
import type { z } from "zod";
import { ConfigError } from "../lib/config/config.load.ts";
import { RegionError } from "../lib/region/region.ts";
import { causeLine, rootCause } from "../lib/temporal/failure.chain.ts";

/**
 * Exit codes by whose move it is: the work failed (look at the cause), the input is wrong (fix the
 * command line), or a server is not there (start it). Anything unexpected is 1 as well.
 */
export const ExitCode = { WorkFailed: 1, BadInput: 2, InfrastructureDown: 3 } as const;

/** Bad input named on the command line; exit code 2 like a usage error. */
export class InputError extends Error {}

/** An option's value through its parser; a bad one is one line naming the option and value (exit 2). */
export function optionValue<T>(option: string, value: string, parser: z.ZodType<T>): T {
  const result = parser.safeParse(value);
  if (!result.success) throw new InputError(`${option} '${value}': ${result.error.issues[0]?.message}`);
  return result.data;
}

/** A server the command needs does not answer: the message names it and how to start it. */
export class InfrastructureError extends Error {}

/** Work ran and failed: the message holds the root cause and where to look next. */
export class WorkFailedError extends Error {}

/** Network failures a client meets when nothing listens (or answers) at an address. */
const NetworkCodes = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ETIMEDOUT",
  "ECONNRESET",
  "EAI_AGAIN",
]);

/** How to bring the local stack up, for messages about servers on loopback. */
export function startHint(address: string): string {
  return /^(https?:\/\/)?(127\.|localhost|\[::1\])/.test(address)
    ? "start the local stack with `npx crop-map dev up`"
    : "check the address in the config (CROP_MAP_CONFIG) or the environment";
}

/**
 * Failure types that say the command's input was wrong (a name, a file, a setting), found only once
 * the work looked: exit 2 like any bad input, not 1.
 */
const InputFailureTypes = new Set(["BadInput", "InvalidInput"]);

/** A failed workflow as a person needs it: what failed, the root cause, where to look next. */
export function workFailed(what: string, error: WorkflowFailedError, uiLink: string): Error {
  const cause = rootCause(error);
  const tile = cause.workflowId ? ` (tile workflow ${cause.workflowId})` : "";
  const message = `${what} failed${tile}: ${causeLine(cause)}\n  see ${uiLink}`;
  return cause.type && InputFailureTypes.has(cause.type)
    ? new InputError(message)
    : new WorkFailedError(message);
}

/**
 * The error a person sees for anything a command throws: an S3 client that finds no server
 * becomes an InfrastructureError naming the endpoint; a failed workflow not handled by its command
 * still shows its root cause.
 */
export function classifyError(error: unknown, s3Endpoint: string | undefined): unknown {
  const e = error as { code?: string; $metadata?: unknown; message?: string };
  if (e?.$metadata !== undefined && e.code && NetworkCodes.has(e.code)) {
    const where = s3Endpoint ?? "AWS S3";
    return new InfrastructureError(
      `the S3 server at ${where} does not answer (${e.message}); ${startHint(where)}`,
    );
  }
  // By name, not instanceof: importing @temporalio/client (protobufs and all) at every start cost
  // commands that never talk to Temporal a few hundred milliseconds.
  if ((error as Error | undefined)?.name === "WorkflowFailedError")
    return new WorkFailedError(`workflow failed: ${causeLine(rootCause(error))}`);
  return error;
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : ExitCode.BadInput;
  if (error instanceof InputError || error instanceof RegionError || error instanceof ConfigError)
    return ExitCode.BadInput;
  if (error instanceof InfrastructureError) return ExitCode.InfrastructureDown;
  return ExitCode.WorkFailed;
}

/** One line for a person (two with a link); the stack trace only when CROP_MAP_DEBUG is set. */
export function reportError(error: unknown): void {
  if (error instanceof CommanderError) return; // commander has already printed its own line
  const message = error instanceof Error ? error.message : String(error);
  console.error(`crop-map: ${message}`);
  if (process.env.CROP_MAP_DEBUG && error instanceof Error) console.error(error.stack);
}
