/**
 * One tile through the pipeline, by stage, on the configured storage (e.g. the demo world:
 * `npm run demo` first, or CROP_MAP_* variables for another), with three comparisons made in this
 * same process, since these machines are noisy:
 *   - inference windows per second inside the pipeline against bare onnxruntime on the same batches;
 *   - COG read and decode throughput against GDAL (gdalinfo -checksum over /vsis3/) on the same files,
 *     where gdal-bin is installed.
 *
 *   npx tsx scripts/bench/tile.bench.ts [--tile 19TCG] [--year 2022] [--model crop-tiny] [--json <file>]
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { parseArgs, promisify } from "node:util";
import { MockActivityEnvironment } from "@temporalio/testing";
import * as ort from "onnxruntime-node";
import { createGranuleActivities } from "../../activities/granules.activities.ts";
import { createLabelActivities } from "../../activities/labels.activities.ts";
import { createPredictActivities } from "../../activities/predict.activities.ts";
import { createStageActivities } from "../../activities/stage.activities.ts";
import { loadConfig } from "../../lib/config/config.load.ts";
import { parseGranuleId } from "../../lib/contracts/granule.id.ts";
import { DefaultSeasonWindows } from "../../lib/contracts/season.windows.ts";
import { createHlsArchive } from "../../lib/hls/archive.factory.ts";
import { bandKey, ModelBands } from "../../lib/hls/lpdaac.keys.ts";
import { loadModelManifest, onnxLocation } from "../../lib/model/model.manifest.ts";
import { closeModels } from "../../lib/model/model.session.ts";
import { windowStarts } from "../../lib/pipeline/sliding.window.ts";
import { readChunks, readStackHeader } from "../../lib/pipeline/stack.reader.ts";
import { fillWindow, type WindowRows, windowRow } from "../../lib/pipeline/window.input.ts";
import { openCog, readRaster } from "../../lib/raster/cog.reader.ts";
import { LocalS3Credentials } from "../../lib/storage/local.credentials.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { ref } from "../../lib/storage/s3.objects.ts";
import { s3Source } from "../../lib/storage/s3.source.ts";
import { type BenchFigure, JsonOption, ratioFigure, timed, writeBenchRecord } from "./bench.record.ts";

const { values } = parseArgs({
  options: {
    tile: { type: "string", default: "19TCG" },
    year: { type: "string", default: "2022" },
    model: { type: "string", default: "crop-tiny" },
    ...JsonOption,
  },
});
const tileId = values.tile as string;
const year = Number(values.year);
// A private work and output prefix: the bench never finds a previous run's stack or maps.
const runId = `bench-${randomUUID().slice(0, 8)}`;
const base = loadConfig();
const config = loadConfig({
  overrides: {
    storage: {
      hls: `s3://${base.storage.hls.bucket}/${base.storage.hls.prefix}`,
      cdl: `s3://${base.storage.cdl.bucket}/${base.storage.cdl.prefix}`,
      work: `s3://${base.storage.work.bucket}/${base.storage.work.prefix}${runId}/`,
      outputs: `s3://${base.storage.outputs.bucket}/${base.storage.outputs.prefix}${runId}/`,
    },
  },
});
const s3 = createS3Client(config);
const env = new MockActivityEnvironment();

const manifest = await loadModelManifest(values.model as string);
const labels = createLabelActivities(s3, config);
const archive = createHlsArchive(config);
const granules = createGranuleActivities(s3, config, archive);
const stage = createStageActivities(s3, config, archive);
const predict = createPredictActivities(s3, config);
const [grid, labelSeconds] = await timed(
  () => env.run(labels.labelGrid, { year }) as ReturnType<typeof labels.labelGrid>,
);
const [selection, selectSeconds] = await timed(
  () =>
    env.run(granules.selectGranules, { tileId, year, windows: DefaultSeasonWindows }) as ReturnType<
      typeof granules.selectGranules
    >,
);
const [staged, stageSeconds] = await timed(
  () =>
    env.run(stage.stageTile, {
      tileId,
      year,
      granules: selection.granules.map((g) => g.id),
      labelGrid: { epsg: grid.epsg, origin: grid.origin, pixelSize: grid.pixelSize },
      chip: manifest.chip,
    }) as ReturnType<typeof stage.stageTile>,
);
const [predicted, predictSeconds] = await timed(
  () =>
    env.run(predict.predictTile, {
      tileId,
      stackKey: staged.stackKey,
      model: manifest.name,
      outputPrefix: `${tileId}/`,
    }) as ReturnType<typeof predict.predictTile>,
);
const pipelineRate = predicted.windows.run / predictSeconds;

// Bare onnxruntime: the same batches, prepared in memory first, then only session.run is timed, on
// this thread (the pipeline runs its session on a worker thread).
const session = await ort.InferenceSession.create(await readFile(onnxLocation(manifest)), {
  executionProviders: [config.inference.device],
});
const stackRef = ref(config.storage.work, staged.stackKey);
const header = await readStackHeader(s3, stackRef);
const { size, stride } = manifest.chip;
const xs = windowStarts(header.grid.width, size, stride);
const ys = windowStarts(header.grid.height, size, stride);
const rows: WindowRows = new Map();
const batches: ort.Tensor[] = [];
const windowValues = header.channels * size * size;
const batchSize = predicted.batchSize;
let windows = 0;
for (const y0 of ys.slice(0, Math.min(ys.length, 6))) {
  for (let cy = Math.floor(y0 / header.chunk); cy <= Math.floor((y0 + size - 1) / header.chunk); cy++) {
    if (!rows.has(cy))
      rows.set(cy, windowRow(header, await readChunks(s3, stackRef, header, cy), manifest.normalization));
  }
  for (let i = 0; i < xs.length; i += batchSize) {
    const slice = xs.slice(i, i + batchSize);
    const data = new Float32Array(slice.length * windowValues);
    slice.forEach((x0, k) => {
      fillWindow(data, k * windowValues, rows, header, x0, y0, size);
    });
    batches.push(new ort.Tensor("float32", data, [slice.length, header.channels, size, size]));
    windows += slice.length;
  }
}
const [, bareSeconds] = await timed(async () => {
  for (const tensor of batches) await session.run({ [manifest.input.name]: tensor });
});
const bareRate = windows / bareSeconds;

// COG reads: the seven COGs of the first chosen granule, decoded whole.
const first = parseGranuleId(selection.granules[0]?.id as string);
const keys = [...ModelBands[first.product], "Fmask"].map((band) =>
  ref(config.storage.hls, bandKey(first, band)),
);
let decodedBytes = 0;
const [, readSeconds] = await timed(async () => {
  for (const key of keys)
    decodedBytes += (await readRaster(await openCog(s3Source(s3, key)))).data.byteLength;
});
let gdalLine = "  GDAL: gdal-bin not installed, no comparison";
let gdalFigure: BenchFigure | undefined;
const gdal = await promisify(execFile)("gdalinfo", ["--version"]).then(
  () => true,
  () => false,
);
if (gdal && config.s3.endpoint) {
  const endpoint = new URL(config.s3.endpoint);
  const gdalEnv = {
    ...process.env,
    AWS_S3_ENDPOINT: endpoint.host,
    AWS_HTTPS: endpoint.protocol === "https:" ? "YES" : "NO",
    AWS_VIRTUAL_HOSTING: "FALSE",
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? LocalS3Credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? LocalS3Credentials.secretAccessKey,
    GDAL_DISABLE_READDIR_ON_OPEN: "EMPTY_DIR",
  };
  const [, gdalSeconds] = await timed(async () => {
    for (const key of keys)
      await promisify(execFile)("gdalinfo", ["-checksum", `/vsis3/${key.bucket}/${key.key}`], {
        env: gdalEnv,
      });
  });
  gdalFigure = ratioFigure("COG read + decode", decodedBytes / 1e6 / readSeconds, "MB/s", {
    name: "GDAL gdalinfo -checksum, same COGs",
    value: decodedBytes / 1e6 / gdalSeconds,
  });
  gdalLine = `  GDAL (gdalinfo -checksum)   ${(decodedBytes / 1e6 / gdalSeconds).toFixed(1)} MB/s decoded; ratio ours / GDAL ${(gdalSeconds / readSeconds).toFixed(2)}`;
}

console.log(
  `tile ${tileId} ${year}, model ${manifest.name} (${predicted.model.provider}), grid ${header.grid.width} x ${header.grid.height}`,
);
console.log(
  `  label grid ${labelSeconds.toFixed(2)} s, select ${selectSeconds.toFixed(2)} s, stage ${stageSeconds.toFixed(1)} s, predict ${predictSeconds.toFixed(1)} s`,
);
console.log(
  `  windows ${predicted.windows.run} run, ${predicted.windows.skipped} skipped, batch ${batchSize}`,
);
console.log(`  inference in the pipeline     ${pipelineRate.toFixed(1)} windows/s`);
console.log(`  bare onnxruntime, same batches ${bareRate.toFixed(1)} windows/s (${windows} windows)`);
console.log(`  overhead ratio pipeline / bare ${(pipelineRate / bareRate).toFixed(2)}`);
console.log(
  `  COG read + decode (ours)      ${(decodedBytes / 1e6 / readSeconds).toFixed(1)} MB/s decoded (${(decodedBytes / 1e6).toFixed(0)} MB, 7 COGs)`,
);
console.log(gdalLine);
s3.destroy();
// The pipeline's model thread would otherwise keep this process from exiting.
await closeModels();
await writeBenchRecord(values.json, {
  bench: "tile.bench.ts",
  setup: `tile ${tileId} ${year}, ${manifest.name}, grid ${header.grid.width} x ${header.grid.height}, batch ${batchSize}`,
  figures: [
    { name: "stage one tile", value: stageSeconds, unit: "s" },
    ratioFigure("predictTile", pipelineRate, "windows/s", {
      name: "bare onnxruntime, same batches",
      value: bareRate,
    }),
    ...(gdalFigure ? [gdalFigure] : []),
  ],
});
