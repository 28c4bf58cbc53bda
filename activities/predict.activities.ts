import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { activityInfo, cancellationSignal, heartbeat, log } from "@temporalio/activity";
import { z } from "zod";
import type { Config } from "../lib/config/config.schema.ts";
import { TileIdParser } from "../lib/grid/tile.table.ts";
import {
  loadModelManifest,
  type ModelManifest,
  ModelManifestError,
  ModelsDir,
} from "../lib/model/model.manifest.ts";
import {
  type LoadedModel,
  loadModel,
  ModelMismatchError,
  runBatchLending,
} from "../lib/model/model.session.ts";
import { defaultEmitThreads, rowEmitter } from "../lib/pipeline/row.emitter.ts";
import { RowAccumulator, windowStarts } from "../lib/pipeline/sliding.window.ts";
import type { StackHeader } from "../lib/pipeline/stack.format.ts";
import { readChunkRow, readStackHeader } from "../lib/pipeline/stack.reader.ts";
import { slideTile } from "../lib/pipeline/tile.slide.ts";
import { CogContentType, encodeCog } from "../lib/raster/cog.writer.ts";
import {
  deleteObject,
  getBytes,
  getJson,
  objectSize,
  putBytes,
  putJson,
  ref,
} from "../lib/storage/s3.objects.ts";
import { formatS3Url } from "../lib/storage/s3.url.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";
import { decodeCheckpoint, emptyCheckpoint, encodeCheckpoint } from "./predict.checkpoint.ts";

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
  /** SHA-256 and size of the two COGs as written, for the STAC catalogue (no re-reading at report time). */
  files: { classes: FileDigest; confidence: FileDigest };
}

type FileDigest = { sha256: string; bytes: number };
const bufferDigest = (bytes: Buffer): FileDigest => ({
  sha256: createHash("sha256").update(bytes).digest("hex"),
  bytes: bytes.length,
});

const PredictedTileParser = z.custom<PredictedTile>(
  (v) => typeof v === "object" && v !== null && "classes" in v,
);

/**
 * Memory of a tile's inference (see slideTile): per window, its input in three batches (filled,
 * queued, running) and its logits in two; fixed, the logit rows held, the rows being emitted, the
 * chunk rows of this window row and the next (int16, and float32 once normalised), and the two maps.
 */
function bytesOf(header: StackHeader, classes: number, size: number, emitThreads: number) {
  const perWindow = (3 * header.channels + 2 * classes) * size * size * 4;
  const held = size * header.grid.width * (classes * 4 + 2);
  const emitting = 2 * Math.max(1, emitThreads) * header.chunk * header.grid.width * (classes * 4 + 3);
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

/** Tiles this process is predicting now (observability, and tests that wait for a cancelled one). */
export const PredictCounters = { tilesRunning: 0 };

export interface PredictOptions {
  /** Where model manifests are read (tests point it at models they build). */
  modelsDir?: string;
}

/** Heartbeats from a timer while `work` runs, so a batch longer than the heartbeat timeout is not a lost worker. */
async function heartbeating<T>(details: () => unknown, work: Promise<T>): Promise<T> {
  const timeoutMs = activityInfo().heartbeatTimeoutMs ?? 0;
  const everyMs = timeoutMs > 0 ? Math.max(100, Math.floor(timeoutMs / 3)) : 10_000;
  const timer = setInterval(() => heartbeat(details()), everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

export function createPredictActivities(s3: S3Client, config: Config, options: PredictOptions = {}) {
  const { work, outputs } = config.storage;
  const modelsDir = options.modelsDir ?? ModelsDir;
  const rowDelayMs = Number(process.env.CROP_MAP_INFERENCE_ROW_DELAY_MS ?? 0);
  const emitThreads = config.inference.emitThreads ?? defaultEmitThreads();

  async function manifestOf(name: string): Promise<ModelManifest> {
    try {
      return await loadModelManifest(name, modelsDir);
    } catch (error) {
      if (error instanceof ModelManifestError) throw nonRetryable("ModelMismatch", error.message);
      throw error;
    }
  }

  async function model(manifest: ModelManifest): Promise<LoadedModel> {
    try {
      return await loadModel(manifest, s3, { ...config.inference, modelsDir }, (line) => log.info(line));
    } catch (error) {
      if (error instanceof ModelMismatchError) throw nonRetryable("ModelMismatch", error.message);
      // DeviceUnavailableError stays retryable: another worker may have the GPU. This one should
      // not have started (checkInferenceDevice at worker start).
      throw error;
    }
  }

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

    const budget = bytesOf(header, classCount, size, emitThreads);
    const room = config.inference.memoryBudgetMb * 2 ** 20 - budget.fixed;
    if (room < budget.perWindow) {
      throw nonRetryable(
        "BadInput",
        `inference memory budget ${config.inference.memoryBudgetMb} MiB is too small for tile ${input.tileId}: needs ${Math.ceil((budget.fixed + budget.perWindow) / 2 ** 20)} MiB`,
      );
    }
    const batchSize = Math.max(1, Math.min(config.inference.batchSize, Math.floor(room / budget.perWindow)));

    let state = emptyCheckpoint(width, height);
    // Named by the stack (its key is a digest of what made it) and the model file's sha256, so any
    // attempt at this tile with this very model may continue it: the result is the same as a run
    // from the start. A different file under the same name starts over.
    const checkpointRef = ref(work, `${input.stackKey}.${loaded.sha256}.checkpoint`);
    if ((await objectSize(s3, checkpointRef)) !== undefined) {
      state = decodeCheckpoint(await getBytes(s3, checkpointRef), width, height);
      log.info(`Tile:Predict:Resume tile=${input.tileId} row=${state.row} attempt=${activityInfo().attempt}`);
    }
    const resumedFromRow = state.row;
    const accumulator = new RowAccumulator(width, classCount);
    accumulator.restore(state.held);
    const signal = cancellationSignal();
    await heartbeating(
      () => ({ row: state.row, rows: ys.length }),
      slideTile({
        header,
        size,
        stride,
        classes: classCount,
        classIds: manifest.classes.map((c) => c.id),
        normalization: manifest.normalization,
        batchSize,
        state,
        accumulator,
        emitter: rowEmitter(emitThreads),
        readChunkRow: (cy) => readChunkRow(s3, stackRef, header, cy),
        runBatch: async (data, windows) => {
          try {
            return await runBatchLending(loaded, data, windows);
          } catch (error) {
            if (error instanceof ModelMismatchError) throw nonRetryable("ModelMismatch", error.message);
            throw error;
          }
        },
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
          if (rowDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, rowDelayMs));
        },
      }),
    );
    if (signal.aborted) throw signal.reason;

    const geo = { epsg: header.grid.epsg, origin: header.grid.origin, pixelSize: header.grid.pixelSize };
    const palette = Array.from(
      { length: 256 },
      (_, i) => manifest.classes.find((c) => c.id === i)?.color ?? ([0, 0, 0] as [number, number, number]),
    );
    const [classesCog, confidenceCog] = await Promise.all([
      encodeCog(
        { width, height, data: state.classes, geo, nodata: 0 },
        { overviews: "nearest", colorMap: palette, metadata: { model: manifest.name } },
      ),
      encodeCog(
        { width, height, data: state.confidence, geo, nodata: 255 },
        { overviews: "average", metadata: { units: "percent", model: manifest.name } },
      ),
    ]);
    const classesRef = ref(outputs, `${input.outputPrefix}classes.tif`);
    const confidenceRef = ref(outputs, `${input.outputPrefix}confidence.tif`);
    await Promise.all([
      putBytes(s3, classesRef, classesCog, CogContentType),
      putBytes(s3, confidenceRef, confidenceCog, CogContentType),
    ]);

    const perClass: Record<string, number> = {};
    let mapped = 0;
    for (const v of state.classes) {
      if (v === 0) continue;
      mapped++;
      perClass[v] = (perClass[v] ?? 0) + 1;
    }
    const summary: PredictedTile = {
      classes: `s3://${classesRef.bucket}/${classesRef.key}`,
      confidence: `s3://${confidenceRef.bucket}/${confidenceRef.key}`,
      model: { name: manifest.name, sha256: loaded.sha256, provider: loaded.provider },
      windows: { total: xs.length * ys.length, run: state.run, skipped: state.skipped },
      pixels: { total: width * height, mapped, perClass },
      batchSize,
      resumedFromRow,
      seconds: (Date.now() - started) / 1000,
      files: { classes: bufferDigest(classesCog), confidence: bufferDigest(confidenceCog) },
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
