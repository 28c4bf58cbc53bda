import type { S3Client } from "@aws-sdk/client-s3";
import { activityInfo, cancellationSignal, heartbeat, log } from "@temporalio/activity";
import { z } from "zod";
import type { Config } from "../lib/config/config.schema.ts";
import { TileIdParser } from "../lib/grid/tile.table.ts";
import { loadModelManifest, type ModelManifest, ModelsDir } from "../lib/model/model.manifest.ts";
import { type LoadedModel, loadModel, runBatch } from "../lib/model/model.session.ts";
import { argmaxRow, RowAccumulator, windowStarts } from "../lib/pipeline/sliding.window.ts";
import type { StackHeader } from "../lib/pipeline/stack.format.ts";
import { readChunkRow, readStackHeader } from "../lib/pipeline/stack.reader.ts";
import { type ChunkRows, fillWindow, pixelValid } from "../lib/pipeline/window.input.ts";
import { deleteObject, getJson, objectSize, putBytes, putJson, ref } from "../lib/storage/s3.objects.ts";
import { formatS3Url } from "../lib/storage/s3.url.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";
import { heartbeating } from "./activity.heartbeat.ts";
import { writeClassMaps } from "./class.maps.ts";
import { asModelFailure } from "./model.failures.ts";
import { encodeCheckpoint, startingState } from "./predict.checkpoint.ts";

export const PredictTileInputParser = z
  .object({
    tileId: TileIdParser,
    /** The staged stack, relative to the work location. */
    stackKey: z.string().min(1),
    model: z.string().min(1),
    /** Folder for the tile's outputs, relative to the outputs location, ending in "/". */
    outputPrefix: z.string().regex(/^([^/]+\/)+$/, "a relative folder ending in '/'"),
  })
  .strict();
export type PredictTileInput = z.infer<typeof PredictTileInputParser>;

export interface PredictedTile {
  classes: string;
  confidence: string;
  model: { name: string; sha256: string; provider: string };
  windows: { total: number; run: number; skipped: number };
  /** Pixels of the staged grid, mapped (valid in every date and covered), and per class id. */
  pixels: { total: number; mapped: number; perClass: Record<string, number> };
  batchSize: number;
  resumedFromRow: number;
  seconds: number;
}

const PredictedTileParser = z.custom<PredictedTile>(
  (v) => typeof v === "object" && v !== null && "classes" in v,
);

function bytesOf(header: StackHeader, classes: number, size: number) {
  const perWindow = (header.channels + classes) * size * size * 4;
  const held = size * header.grid.width * (classes * 4 + 2);
  const chunkRows =
    (Math.ceil(size / header.chunk) + 1) *
    header.chunksAcross *
    header.channels *
    header.chunk *
    header.chunk *
    2;
  const maps = 2 * header.grid.width * header.grid.height;
  return { perWindow, fixed: held + chunkRows + maps };
}

/** Tiles this process is predicting now (observability, and tests that wait for a cancelled one). */
export const PredictCounters = { tilesRunning: 0 };

export interface PredictOptions {
  /** Where model manifests are read (tests point it at models they build). */
  modelsDir?: string;
}

export function createPredictActivities(s3: S3Client, config: Config, options: PredictOptions = {}) {
  const { work, outputs } = config.storage;
  const modelsDir = options.modelsDir ?? ModelsDir;
  const rowDelayMs = Number(process.env.CROP_MAP_INFERENCE_ROW_DELAY_MS ?? 0);

  const manifestOf = (name: string) => asModelFailure(loadModelManifest(name, modelsDir));
  const model = (manifest: ModelManifest): Promise<LoadedModel> =>
    asModelFailure(loadModel(manifest, s3, { ...config.inference, modelsDir }, (line) => log.info(line)));

  async function predict(raw: PredictTileInput): Promise<PredictedTile> {
    const started = Date.now();
    const input = parseInput(PredictTileInputParser, raw, "predictTile");
    const summaryRef = ref(outputs, `${input.outputPrefix}predict.json`);
    const wanted = await manifestOf(input.model);
    // Finished output counts only if the same model file made it: a re-exported model under the
    // same name maps the tile again.
    const done = await getJson(s3, summaryRef);
    if (done !== undefined) {
      const summary = PredictedTileParser.parse(done);
      if (summary.model.sha256 === wanted.sha256) return summary;
      log.info(
        `Tile:Predict:Stale tile=${input.tileId} model=${wanted.name} was=${summary.model.sha256.slice(0, 12)} now=${wanted.sha256.slice(0, 12)}`,
      );
    }

    const loaded = await model(wanted);
    const { manifest } = loaded;
    const stackRef = ref(work, input.stackKey);
    if ((await objectSize(s3, stackRef)) === undefined)
      throw nonRetryable("BadData", `staged stack ${formatS3Url(work, input.stackKey)} is missing`);
    const header = await readStackHeader(s3, stackRef);
    if (header.channels !== manifest.input.channels) {
      throw nonRetryable(
        "ModelMismatch",
        `stack has ${header.channels} channels, model ${manifest.name} takes ${manifest.input.channels}`,
      );
    }
    const { width, height } = header.grid;
    const { size, stride } = manifest.chip;
    const classCount = manifest.output.classes;
    const xs = windowStarts(width, size, stride);
    const ys = windowStarts(height, size, stride);

    const budget = bytesOf(header, classCount, size);
    const room = config.inference.memoryBudgetMb * 2 ** 20 - budget.fixed;
    if (room < budget.perWindow) {
      throw nonRetryable(
        "BadInput",
        `inference memory budget ${config.inference.memoryBudgetMb} MiB is too small for tile ${input.tileId}: needs ${Math.ceil((budget.fixed + budget.perWindow) / 2 ** 20)} MiB`,
      );
    }
    const batchSize = Math.max(1, Math.min(config.inference.batchSize, Math.floor(room / budget.perWindow)));

    // Named by the stack (its key is a digest of what made it) and the model file's sha256, so any
    // attempt at this tile with this very model may continue it: the result is the same as a run
    // from the start. A different file under the same name starts over.
    const checkpointRef = ref(work, `${input.stackKey}.${loaded.sha256}.checkpoint`);
    const { state, resumed } = await startingState(s3, checkpointRef, width, height);
    if (resumed)
      log.info(`Tile:Predict:Resume tile=${input.tileId} row=${state.row} attempt=${activityInfo().attempt}`);
    const resumedFromRow = state.row;
    const accumulator = new RowAccumulator(width, classCount);
    accumulator.restore(state.held);
    const classIds = manifest.classes.map((c) => c.id);
    const rows: ChunkRows = new Map();

    for (let r = state.row; r < ys.length; r++) {
      const y0 = ys[r] as number;
      const firstChunk = Math.floor(y0 / header.chunk);
      const lastChunk = Math.floor((y0 + size - 1) / header.chunk);
      for (const cy of [...rows.keys()]) if (cy < firstChunk) rows.delete(cy);
      for (let cy = firstChunk; cy <= lastChunk; cy++)
        if (!rows.has(cy)) rows.set(cy, await readChunkRow(s3, stackRef, header, cy));

      // Batches never span window rows, so a resumed run feeds the model exactly the same batches.
      const windowValues = header.channels * size * size;
      const batch = new Float32Array(batchSize * windowValues);
      const pending: number[] = [];
      const flush = async () => {
        if (pending.length === 0) return;
        // Cancellation is seen between batches (a batch on the model thread cannot be interrupted).
        const signal = cancellationSignal();
        if (signal.aborted) throw signal.reason;
        const data = batch.subarray(0, pending.length * windowValues);
        const logits = await heartbeating(
          () => ({ row: state.row, rows: ys.length }),
          asModelFailure(runBatch(loaded, data, pending.length)),
        );
        if (signal.aborted) throw signal.reason;
        pending.forEach((x0, i) => {
          accumulator.add(
            logits.subarray(i * classCount * size * size, (i + 1) * classCount * size * size),
            x0,
            y0,
            size,
          );
        });
        state.run += pending.length;
        pending.length = 0;
      };
      for (const x0 of xs) {
        // Filled straight into its batch slot; a window without one valid pixel gives its slot back.
        if (
          fillWindow(
            batch,
            pending.length * windowValues,
            rows,
            header,
            x0,
            y0,
            size,
            manifest.normalization,
          ) === 0
        ) {
          state.skipped++;
          continue;
        }
        pending.push(x0);
        if (pending.length === batchSize) await flush();
      }
      await flush();

      // Rows no later window reaches are final: average, argmax, and free their logits.
      const until = ys[r + 1] ?? height;
      for (let y = state.emitted; y < until; y++) {
        const { mean, count } = accumulator.take(y);
        const { best, confidence } = argmaxRow(mean, classCount, width);
        for (let x = 0; x < width; x++) {
          if ((count[x] as number) === 0 || !pixelValid(rows, header, x, y)) continue;
          state.classes[y * width + x] = classIds[best[x] as number] as number;
          state.confidence[y * width + x] = Math.round((confidence[x] as number) * 100);
        }
      }
      state.emitted = until;
      state.row = r + 1;
      if (state.row % config.inference.checkpointEveryRows === 0 && state.row < ys.length) {
        state.held = accumulator.snapshot();
        await putBytes(s3, checkpointRef, encodeCheckpoint(state), "application/octet-stream");
      }
      heartbeat({ row: state.row, rows: ys.length });
      if (rowDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, rowDelayMs));
    }

    const maps = await writeClassMaps(
      s3,
      outputs,
      input.outputPrefix,
      manifest,
      header.grid,
      state.classes,
      state.confidence,
    );
    const summary: PredictedTile = {
      classes: maps.classes,
      confidence: maps.confidence,
      model: { name: manifest.name, sha256: loaded.sha256, provider: loaded.provider },
      windows: { total: xs.length * ys.length, run: state.run, skipped: state.skipped },
      pixels: { total: width * height, mapped: maps.mapped, perClass: maps.perClass },
      batchSize,
      resumedFromRow,
      seconds: (Date.now() - started) / 1000,
    };
    // The summary last: its presence is what marks the tile's prediction finished.
    await putJson(s3, summaryRef, summary);
    await deleteObject(s3, checkpointRef);
    return summary;
  }

  return {
    /**
     * Sliding-window inference over a staged tile, exactly as the model was evaluated (window and
     * stride from its manifest, overlapping logits averaged, then argmax), batched within a memory
     * budget, writing a class-map COG and a confidence COG. Heartbeats carry the window row; every
     * few rows a checkpoint in the work bucket lets a retry resume instead of starting over. The
     * model runs on its own thread: while a batch runs, a timer heartbeats, and a cancellation is
     * obeyed before the next batch.
     */
    async predictTile(raw: PredictTileInput): Promise<PredictedTile> {
      PredictCounters.tilesRunning++;
      try {
        return await predict(raw);
      } finally {
        PredictCounters.tilesRunning--;
      }
    },
  };
}
