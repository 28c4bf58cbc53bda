import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { type TrainerEvent, TrainerEventParser } from "../contracts/train.contract.ts";

/** The trainer exited without finishing: its exit code and the last lines it wrote to stderr. */
export class TrainerFailed extends Error {
  constructor(
    message: string,
    readonly code: number | null,
  ) {
    super(message);
  }
}

/**
 * Runs the trainer script as a child process and hands each progress line to `onEvent`, one at a
 * time in order (a checkpoint's upload finishes before the next line is handled); resolves with the
 * `done` line. `signal` stops it (SIGTERM): a cancelled activity stops at the trainer's next step
 * with its last epoch's checkpoint already stored.
 */
export async function runTrainer(
  python: string,
  script: string,
  args: string[],
  onEvent: (event: TrainerEvent) => Promise<void> | void,
  signal?: AbortSignal,
): Promise<Extract<TrainerEvent, { event: "done" }>> {
  const child = spawn(python, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const stop = () => child.kill("SIGTERM");
  signal?.addEventListener("abort", stop, { once: true });
  const errors: string[] = [];
  createInterface({ input: child.stderr }).on("line", (line) => {
    errors.push(line);
    if (errors.length > 20) errors.shift();
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve(code));
  });
  let done: Extract<TrainerEvent, { event: "done" }> | undefined;
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      if (!line.startsWith("{")) continue;
      const parsed = TrainerEventParser.safeParse(JSON.parse(line));
      if (!parsed.success) continue;
      if (parsed.data.event === "done") done = parsed.data;
      await onEvent(parsed.data);
    }
    const code = await exited;
    if (signal?.aborted) throw new TrainerFailed("training stopped: cancelled", code);
    if (code !== 0 || !done) {
      const why = errors.filter((l) => l.trim()).at(-1) ?? "no message";
      throw new TrainerFailed(
        `trainer exited with code ${code}: ${why.replace(/^crop-map train: /, "")}`,
        code,
      );
    }
    return done;
  } finally {
    signal?.removeEventListener("abort", stop);
    if (child.exitCode === null) child.kill("SIGTERM");
  }
}
