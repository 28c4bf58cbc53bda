import { spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";

/** A server process started by the project, known by its pid so another command can stop it. */
export interface ServerProcess {
  pid: number;
  logFile: string;
}

/**
 * Starts a long-running server with its output in a log file. `detached` servers outlive the
 * command that started them (`crop-map dev up`); others are children that die with a test run.
 */
export function startServer(
  binary: string,
  args: string[],
  logFile: string,
  detached: boolean,
): ServerProcess {
  const log = openSync(logFile, "a");
  const child = spawn(binary, args, { stdio: ["ignore", log, log], detached });
  if (child.pid === undefined) throw new Error(`could not start ${binary}`);
  if (detached) child.unref();
  return { pid: child.pid, logFile };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL if the process is still there after the grace period. */
export async function stopServer(pid: number, graceMs = 10_000): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
}

/** A server's log, or "" when there is none. */
export function readLog(logFile: string): string {
  try {
    return readFileSync(logFile, "utf8");
  } catch {
    return "";
  }
}

/** The last lines of a server's log, for an error message when it does not come up. */
export function logTail(logFile: string, lines = 5): string {
  return readLog(logFile).trim().split("\n").slice(-lines).join("\n") || "(no log)";
}
