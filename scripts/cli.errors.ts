import { CommanderError } from "commander";
import { ConfigError } from "../lib/config/config.load.ts";
import { RegionError } from "../lib/region/region.ts";

/** Bad input named on the command line; exit code 2 like a usage error. */
export class InputError extends Error {}

/** Exit code 2 for input a person can fix, 1 for everything else. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
  if (error instanceof InputError || error instanceof RegionError || error instanceof ConfigError) return 2;
  return 1;
}

/** One line for a person; the stack trace only when CROP_MAP_DEBUG is set. */
export function reportError(error: unknown): void {
  if (error instanceof CommanderError) return; // commander has already printed its own line
  const message = error instanceof Error ? error.message : String(error);
  console.error(`crop-map: ${message}`);
  if (process.env.CROP_MAP_DEBUG && error instanceof Error) console.error(error.stack);
}
