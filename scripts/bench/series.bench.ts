/**
 * Throughput of the time-series family's per-pixel path on one tile of the synthetic Iowa world
 * (small scale: 480 px, every observation of the season), on a private stack started on free ports
 * (nothing of a developer's stack is touched), with a reference measured in this same process,
 * since these machines are noisy:
 *   - the pipeline's predictSeriesTile (chunk rows read from S3, patches cut per pixel, batches on
 *     the model thread, maps written), pixels per second;
 *   - bare onnxruntime on this thread, the same model on batches of the same pixels prepared in
 *     memory first, only session.run timed (and, apart, the time cutting those patches took);
 * and the process's peak RSS after the pipeline ran.
 *
 *   npx tsx scripts/bench/series.bench.ts [--model sits-tiny] [--rows 2] [--json <file>]
 */

import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { MockActivityEnvironment } from "@temporalio/testing";
import * as ort from "onnxruntime-node";
import { createGranuleActivities } from "../../activities/granules.activities.ts";
import { createLabelActivities } from "../../activities/labels.activities.ts";
import { createSeriesPredictActivities } from "../../activities/series.predict.activities.ts";
import { createSeriesStageActivities } from "../../activities/series.stage.activities.ts";
import type { LabelGrid } from "../../lib/accuracy/label.grid.ts";
import type { GranuleSelection } from "../../lib/contracts/granule.contract.ts";
import type { PredictedSeries } from "../../lib/contracts/predict.contract.ts";
import { DefaultSeasonWindows } from "../../lib/contracts/season.windows.ts";
import type { StagedSeries } from "../../lib/contracts/stage.contract.ts";
import { onnxLocation } from "../../lib/model/model.manifest.ts";
import { readChunkRow, readStackHeader } from "../../lib/pipeline/stack.reader.ts";
import { fillPixel, loadStrips, type SeriesDate } from "../../lib/series/series.input.ts";
import { loadSeriesManifest, pipelineShape } from "../../lib/series/series.manifest.ts";
import { ref } from "../../lib/storage/s3.objects.ts";
import { writeIowaTile } from "../../test/support/series.world.ts";
import { JsonOption, peakRssMb, ratioFigure, timed, writeBenchRecord } from "./bench.record.ts";
import { startBenchStack } from "./bench.stack.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "sits-tiny" },
    /** Chunk rows of pixels the bare reference runs. */
    rows: { type: "string", default: "2" },
    ...JsonOption,
  },
});
const TileId = "15TVG";
const model = values.model as string;
const { config, s3, stop } = await startBenchStack();
try {
  const env = new MockActivityEnvironment();
  await writeIowaTile(s3, config, TileId);
  const labelGrid = (await env.run(createLabelActivities(s3, config).labelGrid, {
    year: 2022,
  })) as LabelGrid;
  const manifest = await loadSeriesManifest(model);
  const shape = await pipelineShape(model);
  const selection = (await env.run(createGranuleActivities(s3, config).selectSeason, {
    tileId: TileId,
    year: 2022,
    windows: DefaultSeasonWindows,
    maxDates: manifest.maxDates,
  })) as GranuleSelection;
  const [staged, stageSeconds] = await timed(
    () =>
      env.run(createSeriesStageActivities(s3, config).stageSeries, {
        tileId: TileId,
        year: 2022,
        granules: selection.granules.map((g) => g.id),
        labelGrid: { epsg: labelGrid.epsg, origin: labelGrid.origin, pixelSize: labelGrid.pixelSize },
        chip: shape.chip,
      }) as Promise<StagedSeries>,
  );
  const [predicted, predictSeconds] = await timed(
    () =>
      env.run(createSeriesPredictActivities(s3, config).predictSeriesTile, {
        tileId: TileId,
        seriesKey: staged.seriesKey,
        model,
        outputPrefix: `${TileId}/`,
      }) as Promise<PredictedSeries>,
  );
  const pipelineRss = peakRssMb();
  const pipelineRate = predicted.pixels.mapped / predictSeconds;

  // Bare onnxruntime on this thread: batches of the same pixels, prepared first, only run timed.
  const session = await ort.InferenceSession.create(await readFile(onnxLocation(manifest)), {
    executionProviders: ["cpu"],
  });
  const { work } = config.storage;
  const dates: SeriesDate[] = await Promise.all(
    staged.index.dates.map(async (d) => ({
      header: await readStackHeader(s3, ref(work, d.key)),
      doy: d.doy,
      rows: new Map(),
    })),
  );
  const { maxDates: T, patch: k } = manifest;
  const chunk = staged.index.chunk;
  const rows = Math.min(Number(values.rows), (dates[0] as SeriesDate).header.chunksDown - 1);
  // The strips' halo reaches one chunk row past the pixels.
  for (const [t, date] of dates.entries())
    for (let r = 0; r <= rows; r++)
      date.rows.set(r, await readChunkRow(s3, ref(work, staged.index.dates[t]?.key ?? ""), date.header, r));
  const batchSize = predicted.batchSize;
  const feeds: Record<string, ort.Tensor>[] = [];
  let pixels = 0;
  const width = staged.index.grid.width;
  let batch = {
    series: new Float32Array(batchSize * T * 6 * k * k),
    doy: new Float32Array(batchSize * T),
    mask: new Float32Array(batchSize * T),
  };
  let n = 0;
  const push = () => {
    if (n === 0) return;
    feeds.push({
      [manifest.inputs.series]: new ort.Tensor("float32", batch.series.subarray(0, n * T * 6 * k * k), [
        n,
        T,
        6,
        k,
        k,
      ]),
      [manifest.inputs.doy]: new ort.Tensor("float32", batch.doy.subarray(0, n * T), [n, T]),
      [manifest.inputs.mask]: new ort.Tensor("float32", batch.mask.subarray(0, n * T), [n, T]),
    });
    pixels += n;
    n = 0;
    batch = {
      series: new Float32Array(batch.series.length),
      doy: new Float32Array(batch.doy.length),
      mask: new Float32Array(batch.mask.length),
    };
  };
  const [, cutSeconds] = await timed(async () => {
    loadStrips(dates, 0, rows * chunk, (k - 1) / 2, manifest.normalization);
    for (let y = 0; y < rows * chunk; y++)
      for (let x = 0; x < width; x++) {
        if (fillPixel(batch, n, dates, T, x, y, k) === 0) continue;
        if (++n === batchSize) push();
      }
    push();
  });
  const [, bareSeconds] = await timed(async () => {
    for (const feed of feeds) await session.run(feed);
  });
  const bareRate = pixels / bareSeconds;

  console.log(
    `tile ${TileId} 2022 (synthetic Iowa, small), model ${manifest.name} (${predicted.model.provider}), grid ${width} x ${staged.index.grid.height}, ${staged.index.dates.length} dates (T ${T}, patch ${k})`,
  );
  console.log(
    `  stage ${stageSeconds.toFixed(1)} s (${staged.index.dates.length} granules), predict ${predictSeconds.toFixed(1)} s`,
  );
  console.log(
    `  pixels ${predicted.pixels.mapped} mapped, ${predicted.pixels.noClearObservation} without a clear date, batch ${batchSize}`,
  );
  console.log(`  per-pixel path in the pipeline ${pipelineRate.toFixed(0)} pixels/s`);
  console.log(`  bare onnxruntime, same batches ${bareRate.toFixed(0)} pixels/s (${pixels} pixels)`);
  console.log(`  ratio pipeline / bare          ${(pipelineRate / bareRate).toFixed(2)}`);
  console.log(`  cutting patches alone (JS)     ${(pixels / cutSeconds).toFixed(0)} pixels/s`);
  console.log(`  peak RSS                       ${pipelineRss.toFixed(0)} MB`);
  await writeBenchRecord(values.json, {
    bench: "series.bench.ts",
    setup: `tile ${TileId} (synthetic Iowa, small), ${manifest.name}, ${staged.index.dates.length} dates (T ${T}, patch ${k})`,
    figures: [
      ratioFigure("per-pixel path, predictSeriesTile", pipelineRate, "pixels/s", {
        name: "bare onnxruntime, same batches",
        value: bareRate,
      }),
      ratioFigure("cutting patches alone (JS)", pixels / cutSeconds, "pixels/s", {
        name: "bare onnxruntime, same batches",
        value: bareRate,
      }),
    ],
    peakRssMb: pipelineRss,
  });
} finally {
  await stop();
}
