import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const bin = join(import.meta.dirname, "..", "..", "bin", "crop-map.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a person would (`node bin/crop-map.js ...`), with extra environment variables. */
export async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)("node", [bin, ...args], {
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
