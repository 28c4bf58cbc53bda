import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Config } from "../../lib/config/config.schema.ts";
import { configEnv } from "./child.worker.ts";

const bin = join(import.meta.dirname, "..", "..", "bin", "crop-map.js");

/**
 * `crop-map serve` in its own process, as a person starts it; resolves once it prints its address.
 * `stop` sends a signal and resolves with the exit code.
 */
export async function startServe(config: Config, port: number, extraEnv: Record<string, string> = {}) {
  const child = spawn("node", [bin, "serve", "--port", String(port)], {
    env: { ...process.env, ...configEnv(config), ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 60_000);
    child.stdout.on("data", (d) => {
      output += d;
      const found = /viewer at (http:\S+)/.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found[1] as string);
      }
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    output: () => output,
    stop: (signal: NodeJS.Signals = "SIGTERM") => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
