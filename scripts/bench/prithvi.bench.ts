/**
 * Throughput of the Prithvi crop architecture as the pipeline runs it (its ONNX session on the
 * model thread, batches of normalised-like random chips), with peak RSS, and the GPU sizing on
 * paper from the export's FLOP count.
 *
 *   npx tsx scripts/bench/prithvi.bench.ts [--dir <export dir>] [--batch 1] [--batches 3] [--json <file>]
 *
 * Without --dir it first exports the full-size architecture with random weights (the same graph
 * as the official checkpoint's, so the same speed) into a temporary folder: about 540 MB.
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { exportModel } from "../../lib/model/model.export.ts";
import { loadModelManifest } from "../../lib/model/model.manifest.ts";
import { loadModel, runBatch } from "../../lib/model/model.session.ts";
import { windowStarts } from "../../lib/pipeline/sliding.window.ts";
import { seededRandom } from "../../lib/random.ts";
import { JsonOption, writeBenchRecord } from "./bench.record.ts";

const { values } = parseArgs({
  options: {
    dir: { type: "string" },
    name: { type: "string", default: "prithvi-crop-100m-random" },
    batch: { type: "string", default: "1" },
    batches: { type: "string", default: "3" },
    ...JsonOption,
  },
});
const batch = Number(values.batch);
const batches = Number(values.batches);
let dir = values.dir;
if (!dir) {
  dir = await mkdtemp(join(tmpdir(), "prithvi-bench-"));
  await exportModel("prithvi-crop-100m", { out: dir, size: "full", parityBatches: "1" }, (l) =>
    console.error(l),
  );
}
const name = values.name as string;
const manifest = await loadModelManifest(name, dir);
const report = JSON.parse(await readFile(join(dir, `${name}.export.json`), "utf8")) as {
  flopsPerWindow: number;
  parameters: number;
  bytes: number;
};
const loaded = await loadModel(manifest, undefined, { device: "cpu", modelsDir: dir }, () => {});
const random = seededRandom(1);
const input = Float32Array.from({ length: batch * 18 * 224 * 224 }, () => (random() - 0.5) * 3);
await runBatch(loaded, input.subarray(0, 18 * 224 * 224), 1); // warm-up
const t = performance.now();
for (let i = 0; i < batches; i++) await runBatch(loaded, input, batch);
const seconds = (performance.now() - t) / 1000;
const rate = (batch * batches) / seconds;
const peakRssGb = process.resourceUsage().maxRSS / 2 ** 20;
// Ends the model thread: onnxruntime's thread pool on a worker thread otherwise keeps the process from exiting.
await loaded.thread.close();

const windowsOf = (w: number, h: number) =>
  windowStarts(w, 224, 112).length * windowStarts(h, 224, 112).length;
const demoTile = windowsOf(4527, 4565); // 19TCG of the demo world on the CDL grid
const hlsTile = windowsOf(3660, 3660); // one HLS tile's own 30 m grid
const tflop = report.flopsPerWindow / 1e12;
// H100 SXM dense peaks: TF32 tensor 495 TFLOP/s (onnxruntime's CUDA EP uses TF32 for fp32 by
// default), FP16 989 TFLOP/s; assumed 40 % of peak sustained on these large convolutions and matmuls.
const gpu = [
  { label: "H100, fp32 export (TF32)", rate: (0.4 * 495) / tflop },
  { label: "H100, fp16 export", rate: (0.4 * 989) / tflop },
];
const stageSecondsPerTile = 37; // README: staging one full demo tile on a 2-core CPU worker

console.log(
  `model ${name}: ${(report.parameters / 1e6).toFixed(1)} M parameters, ${(report.bytes / 1e6).toFixed(0)} MB, ${tflop.toFixed(3)} TFLOP per window`,
);
console.log(
  `CPU (this machine), fp32, batch ${batch}: ${rate.toFixed(3)} windows/s (${(seconds / (batch * batches)).toFixed(1)} s a window), peak RSS ${peakRssGb.toFixed(2)} GiB`,
);
console.log(
  `  per tile: demo 19TCG ${demoTile} windows ${(demoTile / rate / 3600).toFixed(1)} h; HLS 3660 px ${hlsTile} windows ${(hlsTile / rate / 3600).toFixed(1)} h`,
);
for (const g of gpu) {
  const perTile = demoTile / g.rate;
  console.log(
    `${g.label} (paper): ${g.rate.toFixed(0)} windows/s, ${perTile.toFixed(1)} s per demo tile; ${Math.ceil(stageSecondsPerTile / perTile)} two-core staging workers per GPU worker`,
  );
}
await writeBenchRecord(values.json, {
  bench: "prithvi.bench.ts",
  setup: `${name}, fp32, CPU, batch ${batch}, ${batches} batches (GPU rows of the printout are arithmetic, not recorded)`,
  figures: [{ name: `Prithvi-100M crop export, CPU, batch ${batch}`, value: rate, unit: "windows/s" }],
});
