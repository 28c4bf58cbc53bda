import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { configEnv } from "../support/child.worker.ts";
import { testConfig } from "../support/test.config.ts";

const script = join(import.meta.dirname, "..", "..", "scripts", "with-worker.sh");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose process group is `group` (ps lists them while any is alive). */
async function groupMembers(group: number): Promise<number[]> {
  const { stdout } = await promisify(execFile)("ps", ["-e", "-o", "pid=,pgid="]);
  return stdout
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter(([, pgid]) => pgid === group)
    .map(([pid]) => pid as number);
}

describe("the demo's worker start and stop", () => {
  it("leaves no process behind once the command it ran ends, with or without failure", async () => {
    const config = testConfig("hygiene");
    const dir = await mkdtemp(join(tmpdir(), "hygiene-"));
    for (const [command, expected] of [
      ["exit 0", 0],
      ["exit 7", 7],
    ] as const) {
      const log = join(dir, `worker-${expected}.log`);
      // The command waits until the worker polls, reports its pid, then ends as given.
      const body = `until grep -q "crop-map worker: pool all" "${log}"; do sleep 0.2; done; echo "pid=$CROP_MAP_WORKER_PID"; ${command}`;
      const result = await promisify(execFile)("bash", [script, "bash", "-c", body], {
        env: { ...process.env, ...configEnv(config), CROP_MAP_WORKER_LOG: log },
        timeout: 90_000,
      }).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      );
      expect(result.code, await readFile(log, "utf8")).toBe(expected);
      const pid = Number(/pid=(\d+)/.exec(result.stdout)?.[1]);
      expect(pid).toBeGreaterThan(0);
      expect(alive(pid), `worker ${pid} still running`).toBe(false);
      expect(await groupMembers(pid)).toEqual([]);
      // Stopped by its signal, not killed: the worker logged its own shutdown.
      expect(await readFile(log, "utf8")).not.toContain("Error");
    }
  });
});
