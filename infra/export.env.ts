import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { toolCacheDir } from "./tools.ts";

const run = promisify(execFile);

export const ExportDir = join(dirname(fileURLToPath(import.meta.url)), "..", "models", "export");
export const ExportRequirements = join(ExportDir, "requirements.txt");
export const ExportScript = join(ExportDir, "prithvi_export.py");

/**
 * The model export's Python environment (PyTorch, onnx, onnxruntime at pinned versions), a
 * virtualenv beside the server tools in ~/.cache/crop-map, named by a digest of
 * models/export/requirements.txt so a changed pin makes a new one. PyPI's Linux x86_64 torch is
 * the CUDA build: the first install downloads about 3.5 GB (4 to 5 minutes measured here) and
 * takes 5.3 GB of disk; the export itself runs on the CPU.
 */
export async function exportEnvDir(): Promise<string> {
  const digest = createHash("sha256")
    .update(await readFile(ExportRequirements))
    .digest("hex")
    .slice(0, 12);
  return join(dirname(toolCacheDir()), `export-${digest}`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Path of the environment's python, installing it first when missing. Installs into a staging
 * folder and renames it, so an interrupted install never looks finished; a second process that
 * finds an install under way (test.sh starts one early, in the background) waits for it.
 */
export async function ensureExportEnv(log: (line: string) => void = () => {}): Promise<string> {
  const dir = await exportEnvDir();
  const python = join(dir, "bin", "python");
  const staging = `${dir}.partial`;
  for (;;) {
    if (existsSync(python)) return python;
    await mkdir(dirname(dir), { recursive: true });
    try {
      await mkdir(staging);
      break;
    } catch {
      const owner = Number(await readFile(join(staging, "owner.pid"), "utf8").catch(() => "0"));
      // No pid yet: the owner has only just made the folder.
      const fresh = Date.now() - ((await stat(staging).catch(() => undefined))?.mtimeMs ?? 0) < 30_000;
      if ((owner && pidAlive(owner)) || (!owner && fresh)) {
        await new Promise((r) => setTimeout(r, 2000));
        continue;
      }
      // Left by a process that died mid-install: start again.
      await rm(staging, { recursive: true, force: true });
    }
  }
  try {
    await writeFile(join(staging, "owner.pid"), String(process.pid));
    log(`Export:Env installing PyTorch and onnx into ${dir} (first time only; about 3.5 GB from PyPI)`);
    await run("python3", ["-m", "venv", join(staging, "venv")]);
    await run(
      join(staging, "venv", "bin", "python"),
      ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", ExportRequirements],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    // A venv's scripts name its folder, so it is built in place at its final path's twin and moved whole.
    await rm(dir, { recursive: true, force: true });
    await rename(join(staging, "venv"), dir);
    await run(join(dir, "bin", "python"), ["-c", "import torch, onnx, onnxruntime"]);
    return python;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(
      `could not install the export environment from ${ExportRequirements}: ${(error as Error).message}`,
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Runs the export script in the environment; resolves with its exit code and output (stderr also passed through). */
export async function runExportScript(
  args: string[],
  python: string,
  script = ExportScript,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
      process.stderr.write(d);
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
