/**
 * Mosaic and rollup throughput of a finished run on the configured storage (e.g. the demo's
 * Rhode Island run): mosaic pixels per second for the whole report step, against bare confusion
 * accumulation over as many pixels in the same process (the ratio is what to compare).
 *
 *   npx tsx scripts/bench/report.bench.ts --run <run-id> [--json <file>]
 */
import { parseArgs } from "node:util";
import { accumulate, emptyConfusion } from "../../lib/accuracy/confusion.ts";
import { loadConfig } from "../../lib/config/config.load.ts";
import { RunInputParser } from "../../lib/contracts/run.contract.ts";
import { seededRandom } from "../../lib/random.ts";
import { openCog } from "../../lib/raster/cog.reader.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getJson, ref } from "../../lib/storage/s3.objects.ts";
import { s3Source } from "../../lib/storage/s3.source.ts";
import { directReportSteps } from "../../test/support/report.direct.ts";
import { runReportSteps } from "../../workflows/report.steps.ts";
import { JsonOption, ratioFigure, writeBenchRecord } from "./bench.record.ts";

const { values } = parseArgs({ options: { run: { type: "string" }, ...JsonOption } });
if (!values.run) {
  // Under `npm run bench` there is no finished run to report on: say so in the record.
  if (!values.json) throw new Error("--run <run-id> is required");
  await writeBenchRecord(values.json, {
    bench: "report.bench.ts",
    setup: "",
    figures: [],
    skipped: "needs a finished run (--run <run-id>)",
  });
  process.exit(0);
}
const config = loadConfig();
const s3 = createS3Client(config);
const prefix = `runs/${values.run}/`;
const run = RunInputParser.parse(await getJson(s3, ref(config.storage.outputs, `${prefix}run.json`)));
const status = (await getJson(s3, ref(config.storage.outputs, `${prefix}tiles.json`))) as {
  tiles: { tileId: string; state: string }[];
};
const tiles = status.tiles.filter((t) => t.state === "done").map((t) => t.tileId);

let t = performance.now();
const report = await runReportSteps(directReportSteps(s3, config), {
  runId: values.run,
  region: run.region,
  year: run.year as number,
  model: run.model,
  outputPrefix: prefix,
  tiles,
});
const seconds = (performance.now() - t) / 1000;
const accuracy = (await getJson(s3, ref(config.storage.outputs, `${prefix}accuracy.json`))) as {
  labelledPixels: number;
};
const map = await openCog(s3Source(s3, ref(config.storage.outputs, `${prefix}map.tif`)));
const mosaicPixels = map.getWidth() * map.getHeight();

// Reference: confusion accumulation alone over as many pixels as the mosaic holds.
const pixels = 4_000_000;
const random = seededRandom(1);
const labels = Uint8Array.from({ length: pixels }, () => 1 + Math.floor(random() * 13));
const predictions = Uint8Array.from({ length: pixels }, () => 1 + Math.floor(random() * 13));
t = performance.now();
accumulate(emptyConfusion(13), labels, predictions);
const bareRate = pixels / ((performance.now() - t) / 1000);
console.log(
  `run ${values.run}: ${tiles.length} tiles, mosaic ${(mosaicPixels / 1e6).toFixed(1)} Mpx, ${accuracy.labelledPixels} labelled pixels`,
);
console.log(
  `  report step (mosaic, rollups, COGs, quicklooks, report) ${seconds.toFixed(1)} s: ${(mosaicPixels / seconds / 1e6).toFixed(2)} Mpx/s`,
);
console.log(
  `  reference: bare confusion accumulation ${(bareRate / 1e6).toFixed(1)} Mpx/s; ratio ${(mosaicPixels / seconds / bareRate).toFixed(3)}`,
);
console.log(`  report ${report.reportHtml}`);
s3.destroy();
await writeBenchRecord(values.json, {
  bench: "report.bench.ts",
  setup: `run ${values.run}: ${tiles.length} tiles, mosaic ${(mosaicPixels / 1e6).toFixed(1)} Mpx`,
  figures: [
    ratioFigure("report step", mosaicPixels / seconds / 1e6, "Mpx/s", {
      name: "bare confusion accumulation",
      value: bareRate / 1e6,
    }),
  ],
});
