import type { Client } from "@temporalio/client";
import { MockActivityEnvironment } from "@temporalio/testing";
import type { NativeConnection } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGranuleActivities } from "../../activities/granules.activities.ts";
import { createLabelActivities } from "../../activities/labels.activities.ts";
import { createSeriesPredictActivities } from "../../activities/series.predict.activities.ts";
import { createSeriesStageActivities } from "../../activities/series.stage.activities.ts";
import { accumulate, emptyConfusion, metrics } from "../../lib/accuracy/confusion.ts";
import type { LabelGrid } from "../../lib/accuracy/label.grid.ts";
import { labelClassesFor } from "../../lib/accuracy/label.window.ts";
import type { GranuleSelection } from "../../lib/contracts/granule.contract.ts";
import type { PredictedSeries } from "../../lib/contracts/predict.contract.ts";
import type { RunInput } from "../../lib/contracts/run.contract.ts";
import type { RunSummary } from "../../lib/contracts/run.summary.ts";
import { DefaultSeasonWindows } from "../../lib/contracts/season.windows.ts";
import type { StagedSeries } from "../../lib/contracts/stage.contract.ts";
import type { SeriesTileManifest, TileManifest } from "../../lib/contracts/tile.contract.ts";
import { parseS3Url } from "../../lib/core/s3.url.ts";
import { openCog, readRaster } from "../../lib/raster/cog.reader.ts";
import { pipelineShape } from "../../lib/series/series.manifest.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getBytes, getJson, ref } from "../../lib/storage/s3.objects.ts";
import { s3Source } from "../../lib/storage/s3.source.ts";
import { createInferenceWorker } from "../../workers/worker.factory.ts";
import { type CpuPool, startCpuPool } from "../support/cpu.pool.ts";
import { writeIowaTile } from "../support/series.world.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("series");
const s3 = createS3Client(config);
const TileId = "15TVG";
let connection: NativeConnection;
let client: Client;
let pool: CpuPool | undefined;

/** Runs the Iowa run (this one tile) with `model`, both pools in this process. */
async function runWith(model: string, runId: string, workflowId = runId): Promise<RunSummary> {
  const input: RunInput = {
    runId,
    region: { kind: "state", state: "IA" },
    year: 2022,
    model,
    ...(await pipelineShape(model)),
    tiles: [TileId],
    retryRounds: 0,
    inferenceQueue: config.taskQueues.inference,
  };
  const inference = await createInferenceWorker({ connection, config, s3 });
  return inference.runUntil(
    client.workflow.execute("runWorkflow", {
      taskQueue: config.taskQueues.cpu,
      workflowId,
      args: [input],
    }),
  );
}

async function tileManifest<M>(runId: string): Promise<M> {
  return (await getJson(s3, ref(config.storage.outputs, `runs/${runId}/tiles/${TileId}/manifest.json`))) as M;
}

async function outputText(url: string): Promise<string> {
  const { bucket, prefix } = parseS3Url(url);
  return Buffer.from(await getBytes(s3, { bucket, key: prefix.replace(/\/$/, "") })).toString("utf8");
}

/** Accuracy of a tile's class map against the synthetic CDL, as the report computes it. */
async function scored(classesUrl: string) {
  const { bucket, prefix } = parseS3Url(classesUrl);
  const classes = await readRaster(await openCog(s3Source(s3, { bucket, key: prefix.replace(/\/$/, "") })));
  const grid = { ...classes.geo, width: classes.width, height: classes.height };
  const labels = await labelClassesFor(s3, [ref(config.storage.cdl, "2022/CDL_2022_19.tif")], grid);
  const confusion = emptyConfusion(13);
  accumulate(confusion, labels, classes.data as Uint8Array);
  return { ...metrics(confusion), classes: classes.data as Uint8Array };
}

beforeAll(async () => {
  await writeIowaTile(s3, config, TileId);
  pool = await startCpuPool(config, s3);
  ({ connection, client } = pool);
}, 300_000);

afterAll(async () => {
  await pool?.stop();
  s3.destroy();
});

describe("a tile mapped by the time-series family", () => {
  let series: SeriesTileManifest;

  it("maps every clear observation of the season, beats the three-date model on the same tile, and the report sets the two side by side", async () => {
    const chipRun = await runWith("crop-tiny", "ia-chip");
    const seriesRun = await runWith("sits-tiny", "ia-series");
    expect([chipRun.done, seriesRun.done]).toEqual([1, 1]);
    series = await tileManifest<SeriesTileManifest>("ia-series");
    const chip = await tileManifest<TileManifest>("ia-chip");
    expect(series.model.name).toBe("sits-tiny");
    // Both sensors, many more dates than three, each with its day of year; padded up to T and masked.
    expect(new Set(series.granules.map((g) => g.product))).toEqual(new Set(["S30", "L30"]));
    expect(series.series.dates).toBeGreaterThan(10);
    expect(series.series.dates).toBe(series.granules.length);
    expect(series.series.padded).toBe(48 - series.series.dates);
    expect(series.granules.map((g) => g.doy)).toEqual(
      [...series.granules.map((g) => g.doy)].sort((a, b) => a - b),
    );
    // Same grid as the chip path, every pixel either mapped or counted as never clear.
    expect(series.grid).toEqual(chip.grid);
    expect(series.pixels.mapped + series.pixels.noClearObservation).toBe(series.pixels.total);
    expect(series.pixels.mapped).toBe(series.pixels.clearOnce);

    const s = await scored(series.outputs.classes);
    const c = await scored(chip.outputs.classes);
    console.log(
      `Series:Compare tile=${TileId} sits-tiny aAcc=${(s.aAcc * 100).toFixed(2)} mIoU=${s.mIoU.toFixed(3)} dates=${series.series.dates} | crop-tiny aAcc=${(c.aAcc * 100).toFixed(2)} mIoU=${c.mIoU.toFixed(3)}`,
    );
    expect(s.aAcc).toBeGreaterThan(c.aAcc);
    expect(s.mIoU).toBeGreaterThan(c.mIoU);

    // The later run's report compares the families on the region; the earlier one had nothing to compare.
    const report = await outputText(seriesRun.report?.reportMarkdown ?? "");
    expect(report).toContain("## Model families");
    const rows = report.split("\n").filter((l) => /^\| (sits-tiny|crop-tiny) \| (series|chip) \|/.test(l));
    expect(rows.map((r) => r.split(" | ").slice(0, 3).join(" | "))).toEqual([
      "| sits-tiny | series | ia-series",
      "| crop-tiny | chip | ia-chip",
    ]);
    expect(rows[0]).toContain(`${((seriesRun.report?.aAcc ?? 0) * 100).toFixed(2)}%`);
    expect(rows[1]).toContain(`${((chipRun.report?.aAcc ?? 0) * 100).toFixed(2)}%`);
    expect(seriesRun.report?.aAcc).toBeGreaterThan(chipRun.report?.aAcc ?? 1);
    expect(await outputText(chipRun.report?.reportMarkdown ?? "")).not.toContain("## Model families");
  });

  it("does nothing twice: the same run again finds the tile done", async () => {
    await runWith("sits-tiny", "ia-series", "ia-series-again");
    // A redone tile would carry new timings.
    expect(await tileManifest("ia-series")).toEqual(series);
    const predict = (await getJson(
      s3,
      ref(config.storage.outputs, `runs/ia-series/tiles/${TileId}/predict.json`),
    )) as {
      resumedFromRow: number;
    };
    expect(predict.resumedFromRow).toBe(0);
  });

  it("resumes a cancelled tile's inference from its checkpoint, to the same maps as a clean run", async () => {
    const shape = await pipelineShape("sits-tiny");
    const cut = { ...config, inference: { ...config.inference, checkpointEveryRows: 2 } };
    const env = () => new MockActivityEnvironment();
    const grid = (await env().run(createLabelActivities(s3, config).labelGrid, { year: 2022 })) as LabelGrid;
    const selection = (await env().run(createGranuleActivities(s3, config).selectSeason, {
      tileId: TileId,
      year: 2022,
      windows: DefaultSeasonWindows,
      maxDates: shape.series?.maxDates ?? 0,
    })) as GranuleSelection;
    // The run's own series: staging is keyed by its input, so this finds the finished index.
    const staged = (await env().run(createSeriesStageActivities(s3, config).stageSeries, {
      tileId: TileId,
      year: 2022,
      granules: selection.granules.map((g) => g.id),
      labelGrid: { epsg: grid.epsg, origin: grid.origin, pixelSize: grid.pixelSize },
      chip: shape.chip,
    })) as StagedSeries;
    expect(staged.seconds).toBeLessThan(series.timings.stageSeconds);
    const input = {
      tileId: TileId,
      seriesKey: staged.seriesKey,
      model: "sits-tiny",
      outputPrefix: "resumed/",
    };
    const { predictSeriesTile } = createSeriesPredictActivities(s3, cut);
    const first = env();
    first.on("heartbeat", (d: { row?: number }) => {
      if ((d.row ?? 0) >= 5) first.cancel();
    });
    await expect(first.run(predictSeriesTile, input)).rejects.toThrow();
    expect(await getJson(s3, ref(config.storage.outputs, "resumed/predict.json"))).toBeUndefined();
    const resumed = (await env().run(predictSeriesTile, input)) as PredictedSeries;
    expect(resumed.resumedFromRow).toBe(4);
    for (const name of ["classes.tif", "confidence.tif"]) {
      const clean = await getBytes(s3, ref(config.storage.outputs, `runs/ia-series/tiles/${TileId}/${name}`));
      const again = await getBytes(s3, ref(config.storage.outputs, `resumed/${name}`));
      expect(Buffer.from(again).equals(Buffer.from(clean))).toBe(true);
    }
    // Pixels without a clear date are counted across the resume too.
    expect(resumed.pixels.noClearObservation).toBe(series.pixels.noClearObservation);
    expect(resumed.pixels.mapped).toBe(series.pixels.mapped);
  });
});
