import { proxyActivities } from "@temporalio/workflow";
import type {
  GranuleActivities,
  LabelActivities,
  PredictActivities,
  SeriesPredictActivities,
  SeriesStageActivities,
  StageActivities,
  TileOutputActivities,
} from "../activities/activity.types.ts";
import { parseGranuleId } from "../lib/contracts/granule.id.ts";
import { ActivityRetry } from "../lib/contracts/retry.policies.ts";
import {
  type TileManifest,
  type TileWorkflowInput,
  TileWorkflowInputParser,
} from "../lib/contracts/tile.contract.ts";
import { seriesTile } from "./series.tile.ts";
import { tileActivityOptions } from "./tile.activity.options.ts";
import { recordOf, stagingOf } from "./tile.record.ts";
import { parseWorkflowInput } from "./workflow.input.ts";

const retry = ActivityRetry;

/**
 * Select, stage, predict, record. Each step finds its own finished output and returns it, and the
 * manifest is written last: a repeated or resumed tile does no work twice and leaves nothing
 * half-finished that looks done.
 */
export async function tileWorkflow(raw: TileWorkflowInput) {
  const input = parseWorkflowInput(TileWorkflowInputParser, raw, "tile");
  const cpu = proxyActivities<
    LabelActivities & GranuleActivities & StageActivities & SeriesStageActivities & TileOutputActivities
  >(tileActivityOptions(input.cpuHeartbeatSeconds));
  const { tiling } = input;
  const done = await cpu.findTileOutput({
    outputPrefix: input.outputPrefix,
    model: input.model,
    ...(tiling ? { tiling } : {}),
  });
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
    ...(tiling ? { tiling } : {}),
    // The stack's dates, which a TL model is fed (others ignore them).
    dates: selection.granules.map((g) => {
      const { year, doy } = parseGranuleId(g.id);
      return { year, dayOfYear: doy };
    }),
  });
  return cpu.writeTileManifest<TileManifest>({
    outputPrefix: input.outputPrefix,
    manifest: {
      ...recordOf(input, labelGrid, selection, staged, predicted),
      grid: staged.grid,
      ...(predicted.tiling ? { tiling: predicted.tiling } : {}),
      windows: predicted.windows,
      pixels: { ...predicted.pixels, validInAllDates: staged.validPixels },
    },
  });
}
