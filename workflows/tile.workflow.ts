import { proxyActivities } from "@temporalio/workflow";
import { z } from "zod";
import type { TileManifest } from "../activities/tile.output.activities.ts";
import { NonRetryableArchiveErrors } from "../lib/hls/archive.errors.ts";
import {
  ChipParser,
  HeartbeatSecondsParser,
  SeasonYearParser,
  SeriesParser,
} from "../lib/pipeline/run.input.ts";
import type {
  GranuleActivities,
  LabelActivities,
  PredictActivities,
  SeriesPredictActivities,
  SeriesStageActivities,
  StageActivities,
  TileOutputActivities,
} from "../workers/activity.types.ts";
import { seriesTile } from "./series.tile.ts";
import { recordOf, stagingOf } from "./tile.record.ts";
import { parseWorkflowInput } from "./workflow.input.ts";

/** One tile of one season with one model, written under `outputPrefix` (relative to the outputs location). */
export const TileWorkflowInputParser = z
  .object({
    tileId: z.string().regex(/^\d{2}[C-X][A-Z]{2}$/),
    year: SeasonYearParser,
    model: z.string().min(1),
    windows: z
      .array(z.object({ start: z.string(), end: z.string() }).strict())
      .min(1)
      .max(12),
    maxCloudCover: z.number().min(0).max(100),
    minSpatialCoverage: z.number().min(0).max(100),
    /** Staging: the grid is at least `size` wide, cut in chunks of `stride` (a series model: patch and chunk). */
    chip: ChipParser,
    /** Present for a time-series model: the most dates it takes (its manifest's maxDates). */
    series: SeriesParser.optional(),
    outputPrefix: z.string().regex(/^([^/]+\/)+$/),
    /** Task queue of the inference pool. */
    inferenceQueue: z.string().min(1),
    /** How soon a silent inference worker counts as lost and its tile is retried (and resumed). */
    inferenceHeartbeatSeconds: HeartbeatSecondsParser.default(60),
    /** The same for CPU-pool activities (staging heartbeats once per granule). */
    cpuHeartbeatSeconds: HeartbeatSecondsParser.default(300),
  })
  .strict();
export type TileWorkflowInput = z.input<typeof TileWorkflowInputParser>;
export type TileWorkflowSpec = z.output<typeof TileWorkflowInputParser>;

const retry = { initialInterval: "2s", backoffCoefficient: 2, maximumInterval: "1m", maximumAttempts: 6 };

/**
 * Select, stage, predict, record. Each step finds its own finished output and returns it, and the
 * manifest is written last: a repeated or resumed tile does no work twice and leaves nothing
 * half-finished that looks done.
 */
export async function tileWorkflow(raw: TileWorkflowInput) {
  const input = parseWorkflowInput(TileWorkflowInputParser, raw, "tile");
  const cpu = proxyActivities<
    LabelActivities & GranuleActivities & StageActivities & SeriesStageActivities & TileOutputActivities
  >({
    startToCloseTimeout: "30m",
    heartbeatTimeout: `${input.cpuHeartbeatSeconds}s`,
    // A refused archive login fails the tile at once: retrying would only repeat the refusal.
    retry: { ...retry, nonRetryableErrorTypes: NonRetryableArchiveErrors },
  });
  const done = await cpu.findTileOutput({ outputPrefix: input.outputPrefix, model: input.model });
  if (done) return done;

  const { predictTile, predictSeriesTile } = proxyActivities<PredictActivities & SeriesPredictActivities>({
    taskQueue: input.inferenceQueue,
    startToCloseTimeout: "2h",
    // A lost inference worker is noticed within a heartbeat timeout; the retry resumes from its checkpoint.
    heartbeatTimeout: `${input.inferenceHeartbeatSeconds}s`,
    retry,
  });

  const labelGrid = await cpu.labelGrid({ year: input.year });
  const { series } = input;
  if (series) return seriesTile({ ...input, series }, labelGrid, cpu, { predictSeriesTile });
  const selection = await cpu.selectGranules({
    tileId: input.tileId,
    year: input.year,
    windows: input.windows,
    maxCloudCover: input.maxCloudCover,
    minSpatialCoverage: input.minSpatialCoverage,
  });
  const staged = await cpu.stageTile(
    stagingOf(
      input,
      labelGrid,
      selection.granules.map((g) => g.id),
    ),
  );
  const predicted = await predictTile({
    tileId: input.tileId,
    stackKey: staged.stackKey,
    model: input.model,
    outputPrefix: input.outputPrefix,
  });
  return cpu.writeTileManifest<TileManifest>({
    outputPrefix: input.outputPrefix,
    manifest: {
      ...recordOf(input, labelGrid, selection, staged, predicted),
      grid: staged.grid,
      windows: predicted.windows,
      pixels: { ...predicted.pixels, validInAllDates: staged.validPixels },
    },
  });
}
