import type { RunSummary } from "../../lib/contracts/run.summary.ts";
import { runWorkflow } from "../../workflows/index.ts";
/**
 * A region's run from plan to report at orchestration scale, without imagery: the real run
 * workflow (plan, batches, tile workflows, the report's parts and assembly) on a private stack
 * (Temporal + S3 on free ports, removed after), with a no-imagery `findTileOutput` that writes
 * each tile's class and confidence maps at full tile size on the label grid (deterministic from
 * --seed: 800 m field cells from the national grid, so overlapping tiles agree) and its manifest.
 * Measures the wall time and peak RSS of each state's mosaic and of the national products, and a
 * reference in the same process (bare confusion accumulation over 20 Mpx).
 *
 *   npx tsx scripts/bench/conus.run.ts --region texas [--seed 7] [--concurrency 2]
 *   npx tsx scripts/bench/conus.run.ts --region conus        # about 1,000 tiles: hours on 2 cores
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "@temporalio/worker";
import { createMosaicActivities } from "../../activities/mosaic.activities.ts";
import { createReportActivities } from "../../activities/report.activities.ts";
import { createRunActivities } from "../../activities/run.activities.ts";
import { targetGridFor } from "../../activities/stage.activities.ts";
import { stackConfigOverrides, startStack, stopStack } from "../../infra/dev/stack.ts";
import { accumulate, emptyConfusion } from "../../lib/accuracy/confusion.ts";
import { ClassPalette } from "../../lib/cdl/classes.ts";
import { loadConfig } from "../../lib/config/config.load.ts";
import type { RunInput, RunStatus } from "../../lib/contracts/run.contract.ts";
import type { TileManifest } from "../../lib/contracts/tile.contract.ts";
import { CdlEpsg, NationalCdlGrid } from "../../lib/grid/crs.ts";
import { findTile } from "../../lib/grid/tile.table.ts";
import { progressLine } from "../../lib/progress.ts";
import { seededRandom } from "../../lib/random.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import type { Raster } from "../../lib/raster/raster.types.ts";
import { parseRegionName } from "../../lib/region/named.regions.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getJson, putBytes, putJson, ref } from "../../lib/storage/s3.objects.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { connectWorker } from "../../lib/temporal/worker.connection.ts";
import { bundleWorkflows } from "../../workers/worker.factory.ts";
import { latticeHash } from "../synth/hash.ts";

const { values } = parseArgs({
  options: {
    region: { type: "string", default: "texas" },
    seed: { type: "string", default: "7" },
    concurrency: { type: "string", default: "2" },
  },
});
const seed = Number(values.seed);
const region = parseRegionName(values.region as string);
const label = {
  epsg: CdlEpsg,
  origin: [NationalCdlGrid.originX, NationalCdlGrid.originY] as [number, number],
  pixelSize: 30,
};
/** Field cells of the synthetic maps, in label pixels (about 800 m). */
const Cell = 27;

/** A tile's maps on the label grid over its whole footprint, as the real pipeline lays them out. */
async function writeTileMaps(
  s3: ReturnType<typeof createS3Client>,
  outputs: Parameters<typeof ref>[0],
  prefix: string,
  tileId: string,
) {
  const tile = findTile(tileId);
  if (!tile) throw new Error(`no tile ${tileId}`);
  const source = {
    width: tile.width,
    height: tile.height,
    geo: { epsg: tile.epsg, origin: tile.origin, pixelSize: tile.pixelSize },
  } as Raster;
  const grid = targetGridFor(source, label, 224);
  const { width, height } = grid;
  const col0 = Math.round((grid.origin[0] - label.origin[0]) / 30);
  const row0 = Math.round((label.origin[1] - grid.origin[1]) / 30);
  const classes = new Uint8Array(width * height);
  const confidence = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const cy = Math.floor((row0 + y) / Cell);
    for (let x = 0; x < width; x++) {
      const h = latticeHash(Math.floor((col0 + x) / Cell), cy, seed);
      const i = y * width + x;
      const c = h % 25 === 0 ? 0 : 1 + (h % 13);
      classes[i] = c;
      confidence[i] = c === 0 ? 255 : 40 + ((x * 7 + y * 3 + tileId.charCodeAt(4)) % 60);
    }
  }
  const geo = { epsg: grid.epsg, origin: grid.origin, pixelSize: grid.pixelSize };
  const [cogClasses, cogConfidence] = await Promise.all([
    encodeCog(
      { width, height, geo, data: classes, nodata: 0 },
      { overviews: "nearest", colorMap: ClassPalette },
    ),
    encodeCog({ width, height, geo, data: confidence, nodata: 255 }, { overviews: "average" }),
  ]);
  const at = (name: string) => ref(outputs, `${prefix}${name}`);
  await putBytes(s3, at("classes.tif"), cogClasses, "image/tiff");
  await putBytes(s3, at("confidence.tif"), cogConfidence, "image/tiff");
  const manifest = {
    tileId,
    year: 2022,
    model: { name: "no-imagery", sha256: "0".repeat(64), provider: "none" },
    labelGrid: "national",
    granules: [],
    candidates: 0,
    skipped: { count: 0, granules: [] },
    grid: { ...grid, width, height },
    windows: { total: 0, skipped: 0 },
    pixels: { total: width * height, mapped: width * height, validInAllDates: width * height },
    outputs: {
      classes: at("classes.tif").key,
      confidence: at("confidence.tif").key,
      manifest: at("manifest.json").key,
    },
    timings: { selectSeconds: 0, stageSeconds: 0, predictSeconds: 0 },
  };
  await putJson(s3, at("manifest.json"), manifest);
  return manifest as unknown as TileManifest;
}

/** Peak RSS over named spans of this process, sampled every 100 ms. */
function rssSpans() {
  const open = new Map<string, number>();
  const peaks = new Map<string, number>();
  const timer = setInterval(() => {
    const rss = process.memoryUsage().rss;
    for (const name of open.keys()) peaks.set(name, Math.max(peaks.get(name) ?? 0, rss));
  }, 100);
  return {
    async measure<T>(
      name: string,
      work: () => Promise<T>,
    ): Promise<{ result: T; seconds: number; peakMb: number; startMb: number; beside: number }> {
      const beside = open.size;
      const startMb = Math.round(process.memoryUsage().rss / 2 ** 20);
      open.set(name, performance.now());
      peaks.set(name, process.memoryUsage().rss);
      try {
        const result = await work();
        const seconds = (performance.now() - (open.get(name) as number)) / 1000;
        return {
          result,
          seconds,
          peakMb: Math.round((peaks.get(name) as number) / 2 ** 20),
          startMb,
          beside,
        };
      } finally {
        open.delete(name);
      }
    },
    stop: () => clearInterval(timer),
  };
}

const dir = await mkdtemp(join(tmpdir(), "crop-map-conus-"));
const stack = await startStack({ dir, config: loadConfig({ env: {} }), ports: "free", detached: false });
const spans = rssSpans();
try {
  const config = loadConfig({
    env: {},
    overrides: {
      ...stackConfigOverrides(stack),
      workers: { cpuConcurrency: Number(values.concurrency), inferenceConcurrency: 1 },
    },
  });
  const s3 = createS3Client(config);
  const { outputs } = config.storage;
  const mosaic = createMosaicActivities(s3, config);
  const reports = createReportActivities(s3, config);
  const runs = createRunActivities(s3, config);
  const measured: {
    step: string;
    seconds: number;
    peakMb: number;
    startMb: number;
    beside: number;
    note: string;
  }[] = [];
  let generated = 0;
  const generation = { started: 0, seconds: 0 };
  let parts = 0;
  const activities = {
    ...runs,
    async planReport(input: Parameters<typeof mosaic.planReport>[0]) {
      const plan = await mosaic.planReport(input);
      parts = plan.parts.length;
      return plan;
    },
    /** The no-imagery tile: its maps are made here, at full size, instead of staged and predicted. */
    async findTileOutput({ outputPrefix }: { outputPrefix: string }) {
      const tileId = outputPrefix.split("/").at(-2) as string;
      generation.started ||= performance.now();
      const done = (await getJson(s3, ref(outputs, `${outputPrefix}manifest.json`))) as
        | TileManifest
        | undefined;
      const manifest = done ?? (await writeTileMaps(s3, outputs, outputPrefix, tileId));
      generated++;
      generation.seconds = (performance.now() - generation.started) / 1000;
      return manifest;
    },
    async buildMosaicPart(input: Parameters<typeof mosaic.buildMosaicPart>[0]) {
      const m = await spans.measure(`part ${input.part.id}`, () => mosaic.buildMosaicPart(input));
      const px = input.part.grid.width * input.part.grid.height;
      measured.push({
        step: `state ${input.part.id}`,
        seconds: m.seconds,
        peakMb: m.peakMb,
        startMb: m.startMb,
        beside: m.beside,
        note: `${(px / 1e6).toFixed(0)} Mpx grid, ${input.part.tiles.length} tiles, ${(px / m.seconds / 1e6).toFixed(1)} Mpx/s`,
      });
      return m.result;
    },
    async assembleRunReport(input: Parameters<typeof reports.assembleRunReport>[0]) {
      const m = await spans.measure("national", () => reports.assembleRunReport(input));
      const g = input.plan.grid;
      measured.push({
        step: "national products (VRT, overview, report, STAC)",
        seconds: m.seconds,
        peakMb: m.peakMb,
        startMb: m.startMb,
        beside: m.beside,
        note: `${((g.width * g.height) / 1e6).toFixed(0)} Mpx region, overview every ${input.plan.sampleStep} px`,
      });
      return m.result;
    },
  };
  const connection = await connectWorker(config);
  const client = await connectClient(config);
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.taskQueues.cpu,
    workflowBundle: await bundleWorkflows(),
    activities,
    maxConcurrentActivityTaskExecutions: config.workers.cpuConcurrency,
  });
  const runId = `bench-${region.name.replace(/[^A-Za-z0-9]/g, "")}`;
  const input: RunInput = {
    runId,
    region,
    year: 2022,
    model: "crop-tiny",
    chip: { size: 224, stride: 112 },
    maxTilesInFlight: 8,
    retryRounds: 0,
    inferenceQueue: config.taskQueues.inference,
  };
  const started = performance.now();
  // An hour of work on 2 cores: a line of progress every half minute, from the run's own status.
  const watch = setInterval(async () => {
    const status = await client.workflow
      .getHandle(runId)
      .query<RunStatus>("status")
      .catch(() => undefined);
    if (!status) return;
    const elapsed = (performance.now() - started) / 1000;
    const done = status.tiles.filter((t) => t.state === "done").length;
    const mosaics = parts
      ? `, mosaic parts ${measured.filter((m) => m.step.startsWith("state ")).length} of ${parts}`
      : "";
    console.log(
      `${progressLine("tiles", done, status.tiles.length, elapsed, "done")}  ${status.phase}${mosaics}`,
    );
  }, 30_000);
  const summary = (await worker
    .runUntil(
      client.workflow.execute(runWorkflow, {
        taskQueue: config.taskQueues.cpu,
        workflowId: runId,
        args: [input],
      }),
    )
    .finally(() => clearInterval(watch))) as RunSummary;
  const total = (performance.now() - started) / 1000;

  // Reference in this process: bare confusion accumulation over 20 Mpx.
  const pixels = 20_000_000;
  const random = seededRandom(1);
  const labels = Uint8Array.from({ length: pixels }, () => 1 + Math.floor(random() * 13));
  const predictions = Uint8Array.from({ length: pixels }, () => 1 + Math.floor(random() * 13));
  const t = performance.now();
  accumulate(emptyConfusion(13), labels, predictions);
  const bare = pixels / ((performance.now() - t) / 1000) / 1e6;

  console.log(`${summary.region}: ${summary.done} of ${summary.total} tiles done, run ${total.toFixed(0)} s`);
  console.log(`  tile maps generated (no imagery): ${generated} in ${generation.seconds.toFixed(0)} s`);
  for (const m of measured)
    console.log(
      `  ${m.step}: ${m.seconds.toFixed(1)} s, peak RSS ${m.peakMb} MB (${m.startMb} MB as it started)${m.beside ? ` (${m.beside} other step(s) running beside)` : ""}; ${m.note}`,
    );
  console.log(`  reference: bare confusion accumulation ${bare.toFixed(0)} Mpx/s in this process`);
  console.log(`  report ${summary.report?.reportHtml}`);
  await client.connection.close();
  await connection.close();
  s3.destroy();
} finally {
  spans.stop();
  await stopStack(stack);
  await rm(dir, { recursive: true, force: true });
}
