import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** `docker <args>`; its stdout, trimmed. A failure names the command and docker's last line. */
export async function docker(args: string[]): Promise<string> {
  try {
    const { stdout } = await run("docker", args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout.trim();
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    const why = (e.stderr ?? e.message).trim().split("\n").at(-1);
    throw new Error(`docker ${args.slice(0, 2).join(" ")} failed: ${why}`);
  }
}

/**
 * A command with its output streamed to `log` line by line (a build or a debootstrap prints for
 * minutes); resolves when it exits 0, else rejects with the last lines it printed.
 */
export function runStreamed(
  command: string,
  args: string[],
  log: (line: string) => void,
  options: { input?: NodeJS.ReadableStream; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<void> {
  const { input, env, cwd } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: [input ? "pipe" : "ignore", "pipe", "pipe"] });
    if (input && child.stdin) input.pipe(child.stdin);
    const tail: string[] = [];
    let partial = "";
    const onData = (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        log(line);
        tail.push(line);
        if (tail.length > 15) tail.shift();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", reject);
    child.once("close", (code) => {
      if (partial) tail.push(partial);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args[0]} exited with code ${code}:\n${tail.join("\n")}`));
    });
  });
}

/** Whether a Docker daemon answers: undefined when it does, else why not (for a skip or an error). */
export async function dockerUnavailable(): Promise<string | undefined> {
  try {
    await run("docker", ["version", "--format", "{{.Server.Version}}"], { timeout: 15_000 });
    return undefined;
  } catch (error) {
    const e = error as { code?: string; stderr?: string; message: string };
    if (e.code === "ENOENT") return "no docker command on PATH";
    const why = (e.stderr ?? e.message).trim().split("\n").at(-1);
    return `no Docker daemon answers (${why})`;
  }
}

/** Whether an image with this tag is present locally. */
export async function imageExists(tag: string): Promise<boolean> {
  try {
    await run("docker", ["image", "inspect", "--format", "{{.Id}}", tag]);
    return true;
  } catch {
    return false;
  }
}

/** An image's size in bytes, as `docker image inspect` reports it. */
export async function imageSize(tag: string): Promise<number> {
  return Number(await docker(["image", "inspect", "--format", "{{.Size}}", tag]));
}
