import type { S3Client } from "@aws-sdk/client-s3";
import { activityInfo, cancellationSignal, heartbeat, log } from "@temporalio/activity";
import type { Config } from "../lib/config/config.schema.ts";
import {
  type PredictedSeries,
  PredictedSeriesParser,
  type PredictSeriesInput,
  PredictSeriesInputParser,
} from "../lib/contracts/predict.contract.ts";
import { SeriesIndexParser } from "../lib/contracts/series.index.ts";
import { formatS3Url } from "../lib/core/s3.url.ts";
import { ModelsDir } from "../lib/model/model.manifest.ts";
import { type LoadedModel, loadModelFile } from "../lib/model/model.session.ts";
import { argmaxRow } from "../lib/pipeline/sliding.window.ts";
import { checkSeriesGraph, checkSeriesOutput } from "../lib/series/series.graph.ts";
import { fillPixel, loadStrips, type SeriesDate } from "../lib/series/series.input.ts";
import { loadSeriesManifest, type SeriesManifest } from "../lib/series/series.manifest.ts";
import { holdChunkRows, openSeriesDates } from "../lib/series/series.strips.ts";
import { deleteObject, getJson, putBytes, putJson, ref } from "../lib/storage/s3.objects.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";
import { heartbeating } from "./activity.heartbeat.ts";
import { writeClassMaps } from "./class.maps.ts";
import { asModelFailure } from "./model.failures.ts";
import type { PredictOptions } from "./predict.activities.ts";
import { encodeCheckpoint, finishedPrediction, startingState } from "./predict.checkpoint.ts";

/** Most pixels per model call: enough to keep a CPU busy, small enough for the memory budget. */
const MaxPixelsPerBatch = 4096;

export function createSeriesPredictActivities(s3: S3Client, config: Config, options: PredictOptions = {}) {
  const { work, outputs } = config.storage;
  const modelsDir = options.modelsDir ?? ModelsDir;

  // Bundled models by file, trained ones (`train --model sits-former`) from the registry in the outputs location.
  const registry = { s3, location: outputs };
  const manifestOf = (name: string) => asModelFailure(loadSeriesManifest(name, modelsDir, registry));
  const model = (manifest: SeriesManifest): Promise<LoadedModel<SeriesManifest>> =>
    asModelFailure(
      loadModelFile(
        manifest,
        s3,
        { ...config.inference, modelsDir },
        (line) => log.info(line),
        (graph) => checkSeriesGraph(manifest, graph),
      ),
    );

  return {
    /**
     * Per-pixel inference over a staged series: each pixel with its patch on every staged date,
     * padded to the model's dates, with its date mask, batched across the tile; logits to class
     * and confidence maps as the chip path writes them. Pixels without one clear date are no data,
     * counted. Batches never span chunk rows, and every few rows a checkpoint lets a retry resume
     * with the same batches, so a resumed tile is identical to a clean one.
     */
    async predictSeriesTile(raw: PredictSeriesInput): Promise<PredictedSeries> {
      const started = Date.now();
      const input = parseInput(PredictSeriesInputParser, raw, "predictSeriesTile");
      const summaryRef = ref(outputs, `${input.outputPrefix}predict.json`);
      const wanted = await manifestOf(input.model);
      const done = await finishedPrediction(s3, summaryRef, PredictedSeriesParser, input.tileId, wanted);
      if (done) return done;
      const loaded = await model(wanted);
      const { manifest } = loaded;

      const index = await getJson(s3, ref(work, `${input.seriesKey}index.json`));
      if (index === undefined)
        throw nonRetryable(
          "BadData",
          `staged series ${formatS3Url(work, input.seriesKey)}index.json is missing`,
        );
      const { grid, dates: staged } = SeriesIndexParser.parse(index);
      if (staged.length > manifest.maxDates)
        throw nonRetryable(
          "ModelMismatch",
          `series has ${staged.length} dates, model ${manifest.name} takes at most ${manifest.maxDates}`,
        );
      const dates: SeriesDate[] = await openSeriesDates(s3, work, staged);
      const first = (dates[0] as SeriesDate).header;
      const { width, height } = grid;
      const chunk = first.chunk;
      const classCount = manifest.output.classes;
      const { maxDates, patch } = manifest;
      const perDate = 6 * patch * patch;

      const perPixel = (maxDates * (perDate + 2) + classCount) * 4;
      const held = 3 * dates.length * first.chunksAcross * 6 * chunk * chunk * 2 + 2 * width * height;
      const room = config.inference.memoryBudgetMb * 2 ** 20 - held;
      if (room < perPixel)
        throw nonRetryable(
          "BadInput",
          `inference memory budget ${config.inference.memoryBudgetMb} MiB is too small for tile ${input.tileId}: needs ${Math.ceil((held + perPixel) / 2 ** 20)} MiB`,
        );
      const batchSize = Math.min(MaxPixelsPerBatch, Math.floor(room / perPixel));
      const batch = {
        series: new Float32Array(batchSize * maxDates * perDate),
        doy: new Float32Array(batchSize * maxDates),
        mask: new Float32Array(batchSize * maxDates),
      };

      // Named by the series (its key is a digest of what made it) and the model file's sha256.
      const checkpointRef = ref(work, `${input.seriesKey}${loaded.sha256}.checkpoint`);
      const { state, resumed } = await startingState(s3, checkpointRef, width, height);
      if (resumed)
        log.info(
          `Tile:PredictSeries:Resume tile=${input.tileId} row=${state.row} attempt=${activityInfo().attempt}`,
        );
      const resumedFromRow = state.row;
      const classIds = manifest.classes.map((c) => c.id);
      const halo = Math.ceil((patch - 1) / 2 / chunk);

      for (let cy = state.row; cy < first.chunksDown; cy++) {
        await holdChunkRows(s3, work, staged, dates, cy, halo);
        const y1 = Math.min(height, (cy + 1) * chunk);
        loadStrips(dates, cy * chunk, y1, (patch - 1) / 2, manifest.normalization);
        const pending: number[] = [];
        // The next batch is cut while the model runs the last one (runFeeds copies its inputs
        // before it returns, so the buffers are free at once); results land in batch order.
        let running: Promise<void> = Promise.resolve();
        const flush = async () => {
          if (pending.length === 0) return;
          // Cancellation is seen between batches (a batch on the model thread cannot be interrupted).
          const signal = cancellationSignal();
          if (signal.aborted) throw signal.reason;
          const pixels = pending.splice(0);
          const n = pixels.length;
          const feeds = [
            {
              name: manifest.inputs.series,
              data: batch.series.subarray(0, n * maxDates * perDate),
              dims: [n, maxDates, 6, patch, patch],
            },
            { name: manifest.inputs.doy, data: batch.doy.subarray(0, n * maxDates), dims: [n, maxDates] },
            { name: manifest.inputs.mask, data: batch.mask.subarray(0, n * maxDates), dims: [n, maxDates] },
          ];
          const result = asModelFailure(
            loaded.thread.runFeeds(feeds, manifest.output.name).then((r) => {
              checkSeriesOutput(manifest, n, r);
              return r;
            }),
          );
          // Its failure is reported through `running` below; until then it must not count as unhandled.
          result.catch(() => {});
          await running;
          running = heartbeating(() => ({ row: cy, rows: first.chunksDown }), result).then((r) => {
            if (signal.aborted) throw signal.reason;
            const { best, confidence } = argmaxRow(r.data, classCount, n);
            pixels.forEach((pixel, i) => {
              state.classes[pixel] = classIds[best[i] as number] as number;
              state.confidence[pixel] = Math.round((confidence[i] as number) * 100);
            });
            state.run++;
          });
          // A failed batch is reported by the await that next waits for it, not as unhandled.
          running.catch(() => {});
        };
        for (let y = cy * chunk; y < y1; y++) {
          for (let x = 0; x < width; x++) {
            if (fillPixel(batch, pending.length, dates, maxDates, x, y, patch) === 0) {
              state.skipped++;
              continue;
            }
            pending.push(y * width + x);
            if (pending.length === batchSize) await flush();
          }
        }
        await flush();
        await running;
        state.row = cy + 1;
        state.emitted = Math.min(height, state.row * chunk);
        if (state.row % config.inference.checkpointEveryRows === 0 && state.row < first.chunksDown)
          await putBytes(s3, checkpointRef, encodeCheckpoint(state), "application/octet-stream");
        heartbeat({ row: state.row, rows: first.chunksDown });
      }

      const maps = await writeClassMaps(
        s3,
        outputs,
        input.outputPrefix,
        manifest,
        grid,
        state.classes,
        state.confidence,
      );
      const summary: PredictedSeries = {
        classes: maps.classes,
        confidence: maps.confidence,
        model: { name: manifest.name, sha256: loaded.sha256, provider: loaded.provider },
        pixels: {
          total: width * height,
          mapped: maps.mapped,
          perClass: maps.perClass,
          noClearObservation: state.skipped,
        },
        series: { dates: dates.length, maxDates, padded: maxDates - dates.length, batches: state.run },
        batchSize,
        resumedFromRow,
        seconds: (Date.now() - started) / 1000,
        files: maps.files,
      };
      // The summary last: its presence is what marks the tile's prediction finished.
      await putJson(s3, summaryRef, summary);
      await deleteObject(s3, checkpointRef);
      return summary;
    },
  };
}
