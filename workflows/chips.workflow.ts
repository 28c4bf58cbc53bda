import { executeChild, proxyActivities, workflowInfo } from "@temporalio/workflow";
import type {
  ChipActivities,
  DatasetActivities,
  GranuleActivities,
  LabelActivities,
  RunActivities,
  SeriesDatasetActivities,
  SeriesSampleActivities,
  SeriesStageActivities,
} from "../activities/activity.types.ts";
import {
  type ChipsInput,
  ChipsInputParser,
  type ChipsSummary,
  type ChipTileInput,
  ChipTileInputParser,
  type ChipTileOutcome,
  datasetPrefix,
  type SeriesChipTileInput,
  SeriesChipTileInputParser,
} from "../lib/contracts/chips.contract.ts";
import { ActivityRetry } from "../lib/contracts/retry.policies.ts";
import { DefaultSeasonWindows } from "../lib/contracts/season.windows.ts";
import { SeriesChunk } from "../lib/contracts/series.index.ts";
import { causeLine, rootCause } from "../lib/temporal/failure.chain.ts";
import { tileActivityOptions } from "./tile.activity.options.ts";
import { parseWorkflowInput } from "./workflow.input.ts";

const retry = ActivityRetry;

/**
 * One tile's training chips: its manifest first (a finished tile does no work), then the label
 * grid, the seed's scene choice and the chips, whose manifest is written last. A tile without a
 * qualifying triple of scenes is recorded as skipped, with the reason.
 */
export async function chipTileWorkflow(raw: ChipTileInput): Promise<ChipTileOutcome> {
  const input = parseWorkflowInput(ChipTileInputParser, raw, "chip tile");
  const cpu = proxyActivities<ChipActivities & LabelActivities>(
    tileActivityOptions(input.cpuHeartbeatSeconds),
  );
  const done = await cpu.findChipTile({ tileId: input.tileId, outputPrefix: input.outputPrefix });
  if (done) return done;
  const labelGrid = await cpu.labelGrid({ year: input.year });
  const choice = await cpu.selectChipScenes({ tileId: input.tileId, year: input.year, scenes: input.scenes });
  return cpu.makeChipTile({
    tileId: input.tileId,
    year: input.year,
    outputPrefix: input.outputPrefix,
    datasetTiles: input.datasetTiles,
    chipCells: input.chipCells,
    labelGrid,
    choice,
  });
}

/**
 * One tile's series training data: its manifest first (a finished tile does no work), then the
 * label grid, every usable observation of the season staged date by date (the run's own series
 * staging, so a run of a series model on the tile reuses it), and the sampled series, whose
 * manifest is written last.
 */
export async function seriesChipTileWorkflow(raw: SeriesChipTileInput): Promise<ChipTileOutcome> {
  const input = parseWorkflowInput(SeriesChipTileInputParser, raw, "series chip tile");
  const cpu = proxyActivities<
    ChipActivities & LabelActivities & GranuleActivities & SeriesStageActivities & SeriesSampleActivities
  >(tileActivityOptions(input.cpuHeartbeatSeconds));
  const done = await cpu.findChipTile({
    tileId: input.tileId,
    outputPrefix: input.outputPrefix,
    kind: "series",
  });
  if (done) return done;
  const labelGrid = await cpu.labelGrid({ year: input.year });
  const selection = await cpu.selectSeason({
    tileId: input.tileId,
    year: input.year,
    windows: DefaultSeasonWindows,
    maxDates: input.sampling.maxDates,
  });
  const staged = await cpu.stageSeries({
    tileId: input.tileId,
    year: input.year,
    granules: selection.granules.map((g) => g.id),
    labelGrid: { epsg: labelGrid.epsg, origin: labelGrid.origin, pixelSize: labelGrid.pixelSize },
    chip: { size: Math.max(input.sampling.patch, SeriesChunk), stride: SeriesChunk },
  });
  return cpu.makeSeriesSamples({
    tileId: input.tileId,
    year: input.year,
    outputPrefix: input.outputPrefix,
    datasetTiles: input.datasetTiles,
    seriesKey: staged.seriesKey,
    labelGrid,
    sampling: input.sampling,
    seed: input.seed,
    validationShare: input.validationShare,
  });
}

/**
 * A training dataset from the archive, made the way the seed's chips were: the region's tiles fan
 * out as child workflows `<workflow id>/<tile>` (at most `maxTilesInFlight` at once; one id per
 * tile, so a tile is never made twice at the same time), and the dataset step writes the split
 * files and `dataset.json` from the tiles' manifests. A failed tile is recorded, not fatal.
 */
export async function chipsWorkflow(raw: ChipsInput): Promise<ChipsSummary> {
  const input = parseWorkflowInput(ChipsInputParser, raw, "chips");
  const activities = proxyActivities<RunActivities & DatasetActivities & SeriesDatasetActivities>({
    startToCloseTimeout: "30m",
    retry,
  });
  const plan = await activities.planRun({
    region: input.region,
    ...(input.tiles ? { tiles: input.tiles } : {}),
  });
  const tileIds = [...plan.tileIds].sort();
  const outputPrefix = datasetPrefix(input.name);
  const outcomes = new Map<string, ChipTileOutcome>();
  let next = 0;
  const lane = async () => {
    while (next < tileIds.length) {
      const tileId = tileIds[next++] as string;
      try {
        const workflowId = `${workflowInfo().workflowId}/${tileId}`;
        const common = { tileId, year: input.year, outputPrefix, datasetTiles: tileIds };
        const { cpuHeartbeatSeconds } = input;
        const outcome = input.series
          ? await executeChild(seriesChipTileWorkflow, {
              workflowId,
              args: [
                {
                  ...common,
                  sampling: input.series,
                  seed: input.split.seed,
                  validationShare: input.split.validationShare,
                  cpuHeartbeatSeconds,
                },
              ],
            })
          : await executeChild(chipTileWorkflow, {
              workflowId,
              args: [{ ...common, scenes: input.scenes, chipCells: input.chipCells, cpuHeartbeatSeconds }],
            });
        outcomes.set(tileId, outcome);
      } catch (error) {
        outcomes.set(tileId, { tileId, status: "failed", reason: causeLine(rootCause(error)) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.maxTilesInFlight, tileIds.length) }, lane));
  const tiles = tileIds.map((t) => outcomes.get(t) as ChipTileOutcome);
  const record = { outputPrefix, input: { ...input, regionName: plan.regionName, tiles: tileIds }, tiles };
  const counts = input.series
    ? await activities.writeSeriesDataset({
        ...record,
        sampling: input.series,
        seed: input.split.seed,
        validationShare: input.split.validationShare,
      })
    : await activities.writeDataset({
        ...record,
        split: input.split,
        ...(input.maxChips !== undefined ? { maxChips: input.maxChips } : {}),
      });
  return { name: input.name, tiles, ...counts };
}
