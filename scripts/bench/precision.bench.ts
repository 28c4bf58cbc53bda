/**
 * fp32 against fp16: windows/s of the Prithvi crop export at batches 8, 16 and 32 through
 * onnxruntime-node's CUDA execution provider, on the pipeline's model thread as predictTile runs
 * it (every batch copied to the GPU and back: Node has no CUDA IO binding), each against what the
 * GPU's peak for that precision allows at the export's FLOP per window.
 *
 *   bash scripts/gpu/precision.check.sh     # a host with an NVIDIA GPU: install, export, measure
 *   npx tsx scripts/bench/precision.bench.ts [--size full|reduced] [--batches 8,16,32] [--repeat 5]
 *     [--device cuda|cpu] [--dir <dir with both exports>] [--json <file>]
 *
 * Without a GPU (no nvidia-smi) it records why and measures nothing; `--device cpu --size reduced`
 * runs the same path on the CPU in about a minute, to check it where there is no GPU.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { z } from "zod";
import { exportedName, exportModel } from "../../lib/model/model.export.ts";
import { loadModelManifest } from "../../lib/model/model.manifest.ts";
import { loadModel, runBatch } from "../../lib/model/model.session.ts";
import { seededRandom } from "../../lib/random.ts";
import { type BenchFigure, JsonOption, ratioFigure, writeBenchRecord } from "./bench.record.ts";
import { gpuPeak } from "./gpu.peaks.ts";

const OptionsParser = z
  .object({
    size: z.enum(["full", "reduced"]),
    batches: z.string().regex(/^\d+(,\d+)*$/, "batch sizes separated by commas"),
    repeat: z.coerce.number().int().min(1).max(1000),
    device: z.enum(["cuda", "cpu"]),
    dir: z.string().optional(),
    json: z.string().optional(),
  })
  .strict();
const { values } = parseArgs({
  options: {
    size: { type: "string", default: "full" },
    batches: { type: "string", default: "8,16,32" },
    repeat: { type: "string", default: "5" },
    device: { type: "string", default: "cuda" },
    dir: { type: "string" },
    ...JsonOption,
  },
});
const parsed = OptionsParser.safeParse(values);
if (!parsed.success) {
  const issue = parsed.error.issues[0];
  console.error(`precision.bench: --${issue?.path.join(".")}: ${issue?.message}`);
  process.exit(2);
}
const options = parsed.data;
const batches = options.batches.split(",").map(Number);
const setup = (what: string) =>
  `prithvi-crop-100m ${options.size}, random weights, batches ${options.batches}, ${options.repeat} each, ${what}`;

let gpu = "CPU";
if (options.device === "cuda") {
  const smi = await promisify(execFile)("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"]).catch(
    (error: Error) => ({ stdout: "", why: error.message.split("\n")[0] }),
  );
  gpu = smi.stdout.trim().split("\n")[0] ?? "";
  if (!gpu) {
    const skipped = `no NVIDIA GPU here (nvidia-smi: ${"why" in smi ? smi.why : "no GPU listed"}); --device cpu runs the path on the CPU`;
    console.log(`precision.bench: ${skipped}`);
    await writeBenchRecord(options.json, {
      bench: "precision.bench.ts",
      setup: setup("CUDA"),
      figures: [],
      skipped,
    });
    process.exit(0);
  }
}

let dir = options.dir;
if (!dir) {
  dir = await mkdtemp(join(tmpdir(), "precision-bench-"));
  for (const precision of ["fp32", "fp16"] as const)
    await exportModel(
      "prithvi-crop-100m",
      { out: dir, size: options.size, precision, parityBatches: "1" },
      (l) => console.error(l),
    );
}
const peak = options.device === "cuda" ? gpuPeak(gpu) : undefined;
const random = seededRandom(1);
const rates = new Map<string, number>();
const figures: BenchFigure[] = [];
for (const precision of ["fp32", "fp16"] as const) {
  const name = exportedName("prithvi-crop-100m", { size: options.size, precision });
  const manifest = await loadModelManifest(name, dir);
  const { flopsPerWindow } = JSON.parse(await readFile(join(dir, `${name}.export.json`), "utf8")) as {
    flopsPerWindow: number;
  };
  const loaded = await loadModel(manifest, undefined, { device: options.device, modelsDir: dir }, () => {});
  const values = manifest.input.channels * manifest.chip.size ** 2;
  for (const batch of batches) {
    const input = Float32Array.from({ length: batch * values }, () => (random() - 0.5) * 3);
    // The first run of a shape picks its kernels (cuDNN's search): not timed.
    await runBatch(loaded, input, batch);
    const t = performance.now();
    for (let i = 0; i < options.repeat; i++) await runBatch(loaded, input, batch);
    const rate = (batch * options.repeat * 1000) / (performance.now() - t);
    rates.set(`${precision}:${batch}`, rate);
    const label = `${precision}, batch ${batch}, ${gpu} (${loaded.provider})`;
    const ceiling = peak && (peak[precision] * 1e12) / flopsPerWindow;
    figures.push(
      ceiling
        ? ratioFigure(label, rate, "windows/s", {
            name: `${peak.label} ${precision} peak ${peak[precision]} TFLOP/s at ${(flopsPerWindow / 1e12).toFixed(3)} TFLOP a window`,
            value: ceiling,
          })
        : { name: label, value: rate, unit: "windows/s" },
    );
    console.log(
      `${label}: ${rate.toFixed(2)} windows/s${ceiling ? `, ${((100 * rate) / ceiling).toFixed(1)} % of the peak's ${ceiling.toFixed(0)}` : ""}`,
    );
  }
  // Ends the model thread: onnxruntime's thread pool on a worker thread otherwise keeps the process from exiting.
  await loaded.thread.close();
}
for (const batch of batches) {
  const [fp32, fp16] = [rates.get(`fp32:${batch}`) ?? 0, rates.get(`fp16:${batch}`) ?? 0];
  figures.push(
    ratioFigure(`fp16, batch ${batch}`, fp16, "windows/s", { name: `fp32, batch ${batch}`, value: fp32 }),
  );
  console.log(`batch ${batch}: fp16 ${(fp16 / fp32).toFixed(2)} x fp32`);
}
await writeBenchRecord(options.json, { bench: "precision.bench.ts", setup: setup(gpu), figures });
