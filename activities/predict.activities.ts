import type { S3Client } from "@aws-sdk/client-s3";
import { activityInfo, cancellationSignal, heartbeat, log } from "@temporalio/activity";
import type { Config } from "../lib/config/config.schema.ts";
import {
  type PredictedTile,
  PredictedTileParser,
  type PredictTileInput,
  PredictTileInputParser,
} from "../lib/contracts/predict.contract.ts";
import type { StackHeader } from "../lib/contracts/stack.header.ts";
import { recordedTiling, resolveTiling, tilingTag } from "../lib/contracts/tiling.contract.ts";
import { formatS3Url } from "../lib/core/s3.url.ts";
import { loadModelManifest, type ModelManifest, ModelsDir } from "../lib/model/model.manifest.ts";
import { type LoadedModel, loadModel, runBatchShared } from "../lib/model/model.session.ts";
import { readOnThread } from "../lib/pipeline/chunk.decoder.ts";
import { defaultEmitThreads, rowEmitter } from "../lib/pipeline/row.emitter.ts";
import { RowAccumulator, windowStarts } from "../lib/pipeline/sliding.window.ts";
import { chunkRowRange, readStackHeader } from "../lib/pipeline/stack.reader.ts";
import { slideTile } from "../lib/pipeline/tile.slide.ts";
import { batchCoords } from "../lib/pipeline/window.coords.ts";
import { deleteObject, objectSize, putBytes, putJson, ref } from "../lib/storage/s3.objects.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";
import { heartbeating } from "./activity.heartbeat.ts";
import { writeClassMaps } from "./class.maps.ts";
import { asModelFailure } from "./model.failures.ts";
import { encodeCheckpoint, finishedPrediction, startingState } from "./predict.checkpoint.ts";

/**
 * Memory of a tile's inference (see slideTile): per window, its input in four batches (filled,
 * queued, running, being added: the logits are written over the input where they fit, else held
 * beside it in two) and the model thread's own copies of two; fixed, the logit rows held, the rows
 * being emitted, the chunk rows of this window row and the next (int16, and float32 once
 * normalised), and the two maps.
 */
function bytesOf(header: StackHeader, classes: number, size: number, emitThreads: number, weighted: boolean) {
  const apart = classes > header.channels ? 2 * classes : 0;
  const perWindow = (6 * header.channels + apart) * size * size * 4;
  // A count per pixel: a window count (2 bytes), or blended tiling's summed weights (4).
  const count = weighted ? 4 : 2;
  const held = size * header.grid.width * (classes * 4 + count);
  const emitting =
    2 * Math.max(1, emitThreads) * header.chunk * header.grid.width * (classes * 4 + count + 1);
  const chunkRows =
    (Math.ceil(size / header.chunk) + 2) *
    header.chunksAcross *
    header.channels *
    header.chunk *
    header.chunk *
    (2 + 4);
  const maps = 2 * header.grid.width * header.grid.height;
  return { perWindow, fixed: held + emitting + chunkRows + maps };
}

/**
 * A TL model's coords for each batch (its windows' dates and centres), or undefined for a model
 * without them; a TL model given no dates, or not one a frame, is refused (not fed zeros).
 */
function coordsFeeder(manifest: ModelManifest, input: PredictTileInput, header: StackHeader) {
  if (!manifest.coords) return undefined;
  const dates = input.dates ?? [];
  if (dates.length !== manifest.dates)
    throw nonRetryable(
      "ModelMismatch",
      `model ${manifest.name} takes the year and day of year of each of its ${manifest.dates} dates; tile ${input.tileId}'s input gives ${dates.length}`,
    );
  return (y0: number, xs: readonly number[]) => batchCoords(header.grid, manifest.chip.size, dates, y0, xs);
}

export interface PredictOptions {
  /** Where model manifests are read (tests point it at models they build). */
  modelsDir?: string;
  /** Called after each window row's heartbeat (tests slow a worker down to stop it mid-tile). */
  afterRow?: () => Promise<void>;
  /** Told of each tile as it starts (+1) and returns (-1) (tests wait for a cancelled one). */
  tilesRunning?: (delta: 1 | -1) => void;
}

export function createPredictActivities(s3: S3Client, config: Config, options: PredictOptions = {}) {
  const { work, outputs } = config.storage;
  const modelsDir = options.modelsDir ?? ModelsDir;
  const { afterRow, tilesRunning } = options;
  const emitThreads = config.inference.emitThreads ?? defaultEmitThreads();

  // Bundled models by file, trained ones from the registry in the outputs location.
  const registry = { s3, location: outputs };
  const manifestOf = (name: string) => asModelFailure(loadModelManifest(name, modelsDir, registry));
  const model = (manifest: ModelManifest): Promise<LoadedModel> =>
    asModelFailure(loadModel(manifest, s3, { ...config.inference, modelsDir }, (line) => log.info(line)));

  async function predict(raw: PredictTileInput): Promise<PredictedTile> {
    const started = Date.now();
    const input = parseInput(PredictTileInputParser, raw, "predictTile");
    const summaryRef = ref(outputs, `${input.outputPrefix}predict.json`);
    const wanted = await manifestOf(input.model);
    const tiling = input.tiling ?? resolveTiling(wanted.chip, {}, wanted.tiling);
    if (tiling.size !== wanted.chip.size)
      throw nonRetryable(
        "ModelMismatch",
        `tiling window ${tiling.size} px, model ${wanted.name} takes ${wanted.chip.size} px windows`,
      );
    const done = await finishedPrediction(s3, summaryRef, PredictedTileParser, input.tileId, wanted);
    // A prediction of another tiling is stale too: the tile is mapped again as asked.
    if (done && tilingTag(recordedTiling(done.tiling, wanted.chip)) === tilingTag(tiling)) return done;

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
    const { size, stride } = tiling;
    const coordsOf = coordsFeeder(manifest, input, header);
    const weighted = tiling.kind === "blended";
    const classCount = manifest.output.classes;
    const xs = windowStarts(width, size, stride);
    const ys = windowStarts(height, size, stride);

    const budget = bytesOf(header, classCount, size, emitThreads, weighted);
    const room = config.inference.memoryBudgetMb * 2 ** 20 - budget.fixed;
    if (room < budget.perWindow) {
      throw nonRetryable(
        "BadInput",
        `inference memory budget ${config.inference.memoryBudgetMb} MiB is too small for tile ${input.tileId}: needs ${Math.ceil((budget.fixed + budget.perWindow) / 2 ** 20)} MiB`,
      );
    }
    const batchSize = Math.max(1, Math.min(config.inference.batchSize, Math.floor(room / budget.perWindow)));

    // Named by the stack (its key is a digest of what made it), the model file's sha256 and the
    // tiling, so any attempt at this tile with this very model and tiling may continue it: the
    // result is the same as a run from the start. A different file under the same name starts over.
    const checkpointRef = ref(work, `${input.stackKey}.${loaded.sha256}.${tilingTag(tiling)}.checkpoint`);
    const { state, resumed } = await startingState(s3, checkpointRef, width, height);
    if (resumed)
      log.info(`Tile:Predict:Resume tile=${input.tileId} row=${state.row} attempt=${activityInfo().attempt}`);
    const resumedFromRow = state.row;
    const accumulator = new RowAccumulator(width, classCount, weighted);
    accumulator.restore(state.held);
    const signal = cancellationSignal();
    await heartbeating(
      () => ({ row: state.row, rows: ys.length }),
      slideTile({
        header,
        tiling,
        classes: classCount,
        classIds: manifest.classes.map((c) => c.id),
        normalization: manifest.normalization,
        batchSize,
        state,
        accumulator,
        emitter: rowEmitter(emitThreads),
        readChunkRow: (cy, into) => {
          const { channels, chunk } = header;
          const { normalization } = manifest;
          const row = { header: { channels, chunk }, ...chunkRowRange(header, cy), normalization, into };
          return readOnThread({ storage: { s3: config.s3 }, stack: stackRef, ...row });
        },
        runBatch: (data, windows, at) =>
          asModelFailure(runBatchShared(loaded, data, windows, coordsOf?.(at.y0, at.xs))),
        // Cancellation is seen between batches (a batch on the model thread cannot be interrupted).
        beforeBatch: () => {
          if (signal.aborted) throw signal.reason;
        },
        rowDone: async (settled) => {
          if (state.row % config.inference.checkpointEveryRows === 0 && state.row < ys.length) {
            await settled();
            state.held = accumulator.snapshot();
            await putBytes(s3, checkpointRef, encodeCheckpoint(state), "application/octet-stream");
          }
          heartbeat({ row: state.row, rows: ys.length });
          await afterRow?.();
        },
      }),
    );
    if (signal.aborted) throw signal.reason;

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
      tiling,
      windows: { total: xs.length * ys.length, run: state.run, skipped: state.skipped },
      pixels: { total: width * height, mapped: maps.mapped, perClass: maps.perClass },
      batchSize,
      resumedFromRow,
      seconds: (Date.now() - started) / 1000,
      files: maps.files,
    };
    // The summary last: its presence is what marks the tile's prediction finished.
    await putJson(s3, summaryRef, summary);
    await deleteObject(s3, checkpointRef);
    return summary;
  }

  return {
    /**
     * Sliding-window inference over a staged tile, exactly as the model was evaluated (window and
     * stride from its manifest, overlapping logits averaged, then argmax) or as the input's tiling
     * says (blended: TerraTorch's fewer, weighted windows), batched within a memory
     * budget, writing a class-map COG and a confidence COG. Heartbeats carry the window row; every
     * few rows a checkpoint in the work bucket lets a retry resume instead of starting over. The
     * model runs on its own thread: while a batch runs, a timer heartbeats, and a cancellation is
     * obeyed before the next batch.
     */
    async predictTile(raw: PredictTileInput): Promise<PredictedTile> {
      tilesRunning?.(1);
      try {
        return await predict(raw);
      } finally {
        tilesRunning?.(-1);
      }
    },
  };
}
