/**
 * What blended tiling saves against mmseg's slide, and what it costs in the map: one tile mapped
 * with a model both ways through the real pipeline (`crop-map tile --tiling ... --wait --json`, on
 * the configured stack, with a worker running; a tile already mapped is found, not mapped again),
 * then windows per tile, model FLOP per km², predict seconds per km² (wall, this machine), the share
 * of pixels on which the two maps agree, and each map's aAcc and mIoU against the CDL on its grid.
 *
 *   npx tsx scripts/bench/tiling.compare.ts --model <name> [--tile 19TCG] [--year 2022] [--json <file>]
 *
 * FLOP per window comes from the exporter's own count (models/export/prithvi_export.py) for the
 * model's variant and window, so it is arithmetic on the architecture, not a measurement.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { accumulate, emptyConfusion, metrics } from "../../lib/accuracy/confusion.ts";
import { readLabelGrid } from "../../lib/accuracy/label.grid.ts";
import { labelClassesFor } from "../../lib/accuracy/label.window.ts";
import { loadConfig } from "../../lib/config/config.load.ts";
import { parseS3Url } from "../../lib/core/s3.url.ts";
import { ExportDir, ensureExportEnv } from "../../lib/model/export.env.ts";
import { ModelManifestParser, registeredManifestKey } from "../../lib/model/model.manifest.ts";
import { imageGrid, openCog, readRaster } from "../../lib/raster/cog.reader.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getJson, ref } from "../../lib/storage/s3.objects.ts";
import { s3Source } from "../../lib/storage/s3.source.ts";
import { type BenchFigure, JsonOption, writeBenchRecord } from "./bench.record.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    tile: { type: "string", default: "19TCG" },
    year: { type: "string", default: "2022" },
    ...JsonOption,
  },
});
if (!values.model) {
  console.error("tiling.compare: --model <name> is required (a chip model: a trained one, not the LDA)");
  process.exit(2);
}
const model = values.model;
const config = loadConfig();
const s3 = createS3Client(config);
const bin = join(import.meta.dirname, "..", "..", "bin", "crop-map.js");

interface Mapped {
  tiling: string;
  windows: number;
  /** Windows the model ran on: those with no valid pixel are skipped. */
  windowsRun: number;
  mapped: number;
  predictSeconds: number;
  output: string;
}

async function mapTile(tiling: string): Promise<Mapped> {
  console.error(`tiling.compare: tile ${values.tile} with ${model}, ${tiling} tiling`);
  const args = [bin, "tile", "--tile", values.tile as string, "--year", values.year as string];
  const { stdout } = await promisify(execFile)(
    "node",
    [...args, "--model", model, "--tiling", tiling, "--wait", "--json"],
    { maxBuffer: 1 << 20 },
  );
  const figures = JSON.parse(stdout.slice(stdout.indexOf("{", stdout.indexOf("}") + 1))) as Mapped;
  return { ...figures, tiling };
}

async function readClasses(output: string) {
  const image = await openCog(s3Source(s3, ref(parseS3Url(output), "classes.tif")));
  return { grid: imageGrid(image, "classes.tif"), classes: (await readRaster(image)).data as Uint8Array };
}

const maps = [await mapTile("mmseg"), await mapTile("blended")] as const;
const [mmseg, blended] = await Promise.all(maps.map((m) => readClasses(m.output)));
if (!mmseg || !blended) throw new Error("no classes.tif");
const labels = await labelClassesFor(
  s3,
  (await readLabelGrid(s3, config.storage.cdl, Number(values.year))).rasters,
  mmseg.grid,
);
let agree = 0;
let both = 0;
for (let i = 0; i < mmseg.classes.length; i++) {
  const a = mmseg.classes[i] as number;
  const b = blended.classes[i] as number;
  if (a === 0 || b === 0) continue;
  both++;
  if (a === b) agree++;
}
const scores = [mmseg, blended].map((m) => {
  const confusion = emptyConfusion(13);
  accumulate(confusion, labels, m.classes);
  return metrics(confusion);
});

// A registered model's manifest names its variant and window; a bundled one is the full model at 224.
const registered = ModelManifestParser.safeParse(
  await getJson(s3, ref(config.storage.outputs, registeredManifestKey(model))),
);
const variant = (registered.success && registered.data.training?.variant) || "full";
const window = (registered.success && "chip" in registered.data && registered.data.chip.size) || 224;
const python = await ensureExportEnv((l) => console.error(l));
const { stdout: flopText } = await promisify(execFile)(python, [
  "-c",
  `import sys; sys.path.insert(0, ${JSON.stringify(ExportDir)}); from prithvi_export import arch_for, flops_per_window; print(flops_per_window(arch_for(${JSON.stringify(variant)}, ${window})))`,
]);
const flopsPerWindow = Number(flopText.trim());
const km2 = (mapped: number) => (mapped * mmseg.grid.pixelSize ** 2) / 1e6;

const figures: BenchFigure[] = [];
console.log(`tile ${values.tile} ${values.year}, model ${model} (${variant}, ${window} px windows)`);
for (const [i, m] of maps.entries()) {
  const score = scores[i] as ReturnType<typeof metrics>;
  const area = km2(m.mapped);
  console.log(
    `  ${m.tiling.padEnd(7)} ${m.windows} windows (${m.windowsRun} run), ${((m.windowsRun * flopsPerWindow) / area / 1e9).toFixed(2)} GFLOP/km², predict ${((m.predictSeconds / area) * 1000).toFixed(1)} ms/km² (wall); aAcc ${(score.aAcc * 100).toFixed(2)} %, mIoU ${(score.mIoU * 100).toFixed(2)} %`,
  );
  figures.push(
    { name: `${m.tiling}: windows per tile`, value: m.windows, unit: "windows" },
    { name: `${m.tiling}: windows run`, value: m.windowsRun, unit: "windows" },
    {
      name: `${m.tiling}: model FLOP per km²`,
      value: (m.windowsRun * flopsPerWindow) / area,
      unit: "FLOP/km²",
    },
    { name: `${m.tiling}: predict wall seconds per km²`, value: m.predictSeconds / area, unit: "s/km²" },
    { name: `${m.tiling}: aAcc against CDL`, value: score.aAcc, unit: "fraction" },
    { name: `${m.tiling}: mIoU against CDL`, value: score.mIoU, unit: "fraction" },
  );
}
const ratio = maps[0].windowsRun / maps[1].windowsRun;
const aAccDrop = ((scores[0]?.aAcc ?? 0) - (scores[1]?.aAcc ?? 0)) * 100;
console.log(
  `  blended: ${ratio.toFixed(2)}x fewer model FLOP per km²; maps agree on ${((agree / both) * 100).toFixed(2)} % of pixels both mapped; aAcc ${aAccDrop >= 0 ? "-" : "+"}${Math.abs(aAccDrop).toFixed(2)} points`,
);
figures.push(
  {
    name: "mmseg windows run / blended windows run",
    value: ratio,
    unit: "x",
    target: ">= 3x fewer FLOP per km²",
  },
  { name: "blended map agreeing with mmseg's", value: agree / both, unit: "fraction" },
  { name: "aAcc points lost to blended", value: aAccDrop, unit: "points", target: "<= 0.3" },
);
await writeBenchRecord(values.json, {
  bench: "tiling.compare.ts",
  setup: `tile ${values.tile} ${values.year}, model ${model} (${variant}, ${window} px), both tilings through crop-map tile`,
  figures,
});
s3.destroy();
