import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { configEnv } from "../../infra/images/config.env.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import { testBundle } from "./test.bundle.ts";

export { configEnv };

/** A worker in its own process (so a test can kill it like a crashed host); its output is kept for failures. */
export function spawnWorker(
  pool: "cpu" | "inference" | "all",
  config: Config,
  extraEnv: Record<string, string> = {},
  hooks: { rowDelayMs?: number } = {},
) {
  const bin = join(import.meta.dirname, "..", "..", "bin", "crop-map.js");
  // The product's worker command has no test hooks: a slowed worker runs the test's own entry.
  const args =
    hooks.rowDelayMs === undefined
      ? [bin, "worker", "--pool", pool]
      : ["--import", "tsx", join(import.meta.dirname, "hooked.worker.ts"), pool, String(hooks.rowDelayMs)];
  const child: ChildProcess = spawn("node", args, {
    env: {
      ...process.env,
      ...configEnv(config),
      CROP_MAP_WORKFLOW_BUNDLE: (testBundle() as { codePath: string }).codePath,
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d) => {
    output += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  return {
    child,
    output: () => output,
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}
