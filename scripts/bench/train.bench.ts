/**
 * Training throughput of the Prithvi crop model on this machine's CPU: training chips a second and
 * the trainer's peak RSS, for the reduced variant and the full model, through the real trainer
 * (models/train/prithvi_train.py, the seed recipe) on synthetic 224-cell chips. A step's cost does
 * not depend on the pixel values, so the chips are seeded random reflectance in HLS's range with
 * random labels. Then the arithmetic for a GPU from the model's FLOP per chip, labelled as such.
 *
 *   npx tsx scripts/bench/train.bench.ts [--sizes reduced,full] [--chips 32] [--full-chips 4] [--batch 8] [--json <file>]
 *
 * The full model is slow on a CPU: --full-chips keeps it to a few steps.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ensureExportEnv, TrainScript } from "../../lib/model/export.env.ts";
import { seededRandom } from "../../lib/random.ts";
import { NpyWriter } from "../../lib/training/npy.writer.ts";
import { runTrainer } from "../../lib/training/trainer.process.ts";
import { type BenchFigure, JsonOption, writeBenchRecord } from "./bench.record.ts";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "reduced,full" },
    chips: { type: "string", default: "32" },
    "full-chips": { type: "string", default: "4" },
    batch: { type: "string", default: "8" },
    ...JsonOption,
  },
});
const Side = 224;
type Size = "reduced" | "full";
const sizes = (values.sizes as string).split(",") as Size[];
for (const s of sizes)
  if (s !== "reduced" && s !== "full") {
    console.error(`--sizes: '${s}' is not reduced or full`);
    process.exit(2);
  }
const count = (text: string, option: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 2 || n > 4096) {
    console.error(`--${option} '${text}': expected a whole number from 2 to 4096`);
    process.exit(2);
  }
  return n;
};
const chips = {
  reduced: count(values.chips as string, "chips"),
  full: count(values["full-chips"] as string, "full-chips"),
};
const batch = count(values.batch as string, "batch");

/** `n` chips and masks as the trainer reads them: int16 [n, 18, 224, 224] and uint8 [n, 224, 224]. */
async function writeChips(dir: string, split: "train" | "val", n: number, seed: number): Promise<void> {
  const random = seededRandom(seed);
  const x = await NpyWriter.create(join(dir, `${split}.x.npy`), "int16", [n, 18, Side, Side]);
  const y = await NpyWriter.create(join(dir, `${split}.y.npy`), "uint8", [n, Side, Side]);
  for (let i = 0; i < n; i++) {
    await x.append(Int16Array.from({ length: 18 * Side * Side }, () => Math.floor(random() * 4000)));
    await y.append(Uint8Array.from({ length: Side * Side }, () => Math.floor(random() * 14)));
  }
  await x.close();
  await y.close();
}

interface Measured {
  size: Size;
  chipsPerSecond: number;
  peakRssMb: number;
  flopsPerChip: number;
  threads: number;
  steps: number;
  batch: number;
}

async function measure(python: string, size: Size): Promise<Measured> {
  const dir = await mkdtemp(join(tmpdir(), "train-bench-"));
  try {
    const n = chips[size];
    // At least two steps: the first is a warm-up, left out of the timing.
    const stepBatch = Math.min(batch, Math.floor(n / 2));
    await writeChips(dir, "train", n, 1);
    await writeChips(dir, "val", 1, 2);
    const stepTimes: number[] = [];
    let start: Record<string, unknown> = {};
    const done = await runTrainer(
      python,
      TrainScript,
      [
        ...["--data", dir, "--work", join(dir, "work"), "--size", size, "--epochs", "1"],
        ...["--batch", String(stepBatch), "--eval-every", "1000"],
      ],
      (event) => {
        if (event.event === "start") start = event;
        if (event.event === "step") {
          stepTimes.push(performance.now());
          console.error(`train.bench: ${size} step ${event.step} loss ${event.loss.toFixed(3)}`);
        }
      },
    );
    // From the end of the first step (a warm-up: allocations, thread pools) to the end of the last.
    const steps = stepTimes.length - 1;
    if (steps < 1)
      throw new Error(`${size}: ${n} chips at batch ${stepBatch} give one step; give more chips`);
    const seconds = ((stepTimes.at(-1) as number) - (stepTimes[0] as number)) / 1000;
    return {
      size,
      chipsPerSecond: (steps * stepBatch) / seconds,
      peakRssMb: done.peakRssMb ?? Number.NaN,
      flopsPerChip: Number(start.flopsPerChip),
      threads: Number(start.threads),
      steps,
      batch: stepBatch,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const python = await ensureExportEnv((l) => console.error(l));
const measured: Measured[] = [];
for (const size of sizes) measured.push(await measure(python, size));

// A training step is about three forward passes (the backward pass costs about twice the forward).
// H100 SXM dense peaks: TF32 495 TFLOP/s, BF16/FP16 989 TFLOP/s; 40 % of peak sustained assumed.
const Gpus = [
  { label: "H100, fp32 (TF32)", tflops: 0.4 * 495 },
  { label: "H100, mixed precision (bf16)", tflops: 0.4 * 989 },
];
const figures: BenchFigure[] = [];
for (const m of measured) {
  const trainTflopPerChip = (3 * m.flopsPerChip) / 1e12;
  console.log(
    `${m.size}: ${m.chipsPerSecond.toFixed(2)} training chips/s on this CPU (${m.threads} threads, batch ${m.batch}, ${m.steps} timed steps), trainer peak RSS ${m.peakRssMb.toFixed(0)} MB; ${trainTflopPerChip.toFixed(3)} TFLOP per training chip`,
  );
  const epochOf1000 = 1000 / m.chipsPerSecond;
  console.log(`  80 epochs of 1,000 training chips here: ${((80 * epochOf1000) / 3600).toFixed(1)} h`);
  for (const g of Gpus) {
    const rate = g.tflops / trainTflopPerChip;
    console.log(
      `  ${g.label}, arithmetic: ${rate.toFixed(0)} chips/s; 80 epochs of 1,000 chips ${((80 * 1000) / rate / 60).toFixed(1)} min`,
    );
  }
  figures.push(
    {
      name: `training, Prithvi ${m.size}, CPU`,
      value: m.chipsPerSecond,
      unit: "chips/s",
      peakRssMb: m.peakRssMb,
    },
    { name: `training FLOP per chip, Prithvi ${m.size}`, value: 3 * m.flopsPerChip, unit: "FLOP" },
  );
}
await writeBenchRecord(values.json, {
  bench: "train.bench.ts",
  setup: `synthetic 224-cell chips (${sizes.map((s) => `${s} ${chips[s]}`).join(", ")}), one epoch each, batch ${batch}; GPU rows of the printout are arithmetic, not recorded`,
  figures,
});
