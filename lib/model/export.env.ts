import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { installOnce, toolCacheDir } from "../install/install.once.ts";

const run = promisify(execFile);

export const ExportDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "models", "export");
export const ExportRequirements = join(ExportDir, "requirements.txt");
export const ExportScript = join(ExportDir, "prithvi_export.py");
/** The fine-tuning script: runs in the same environment, and imports the export's architecture. */
export const TrainScript = join(ExportDir, "..", "train", "prithvi_train.py");
/** SITS-Former's pretraining and fine-tuning: the same environment, the exporter's module. */
export const SitsTrainScript = join(ExportDir, "..", "train", "sits_former_train.py");

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

/**
 * Path of the environment's python, installing it first when missing; a second process that finds
 * an install under way (test.sh starts one early, in the background) waits for it.
 */
export async function ensureExportEnv(log: (line: string) => void = () => {}): Promise<string> {
  const dir = await exportEnvDir();
  return installOnce(
    dir,
    join("bin", "python"),
    `the export environment from ${ExportRequirements}`,
    async (venv) => {
      log(`Export:Env installing PyTorch and onnx into ${dir} (first time only; about 3.5 GB from PyPI)`);
      await run("python3", ["-m", "venv", venv]);
      // A venv's scripts name its folder; only its python is run, by path, so it moves whole.
      const python = join(venv, "bin", "python");
      await run(
        python,
        ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", ExportRequirements],
        {
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      await run(python, ["-c", "import torch, onnx, onnxruntime"]);
    },
  );
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
