import { executeChild, proxyActivities, workflowInfo } from "@temporalio/workflow";
import type {
  ChipActivities,
  DatasetActivities,
  LabelActivities,
  RunActivities,
} from "../activities/activity.types.ts";
import {
  type ChipsInput,
  ChipsInputParser,
  type ChipsSummary,
  type ChipTileInput,
  ChipTileInputParser,
  type ChipTileOutcome,
  datasetPrefix,
} from "../lib/contracts/chips.contract.ts";
import { ActivityRetry } from "../lib/contracts/retry.policies.ts";
import { NonRetryableArchiveErrors } from "../lib/errors/archive.errors.ts";
import { causeLine, rootCause } from "../lib/temporal/failure.chain.ts";
import { parseWorkflowInput } from "./workflow.input.ts";

const retry = ActivityRetry;

/**
 * One tile's training chips: its manifest first (a finished tile does no work), then the label
 * grid, the seed's scene choice and the chips, whose manifest is written last. A tile without a
 * qualifying triple of scenes is recorded as skipped, with the reason.
 */
export async function chipTileWorkflow(raw: ChipTileInput): Promise<ChipTileOutcome> {
  const input = parseWorkflowInput(ChipTileInputParser, raw, "chip tile");
  const cpu = proxyActivities<ChipActivities & LabelActivities>({
    startToCloseTimeout: "30m",
    heartbeatTimeout: `${input.cpuHeartbeatSeconds}s`,
    retry: { ...retry, nonRetryableErrorTypes: NonRetryableArchiveErrors },
  });
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
 * A training dataset from the archive, made the way the seed's chips were: the region's tiles fan
 * out as child workflows `<workflow id>/<tile>` (at most `maxTilesInFlight` at once; one id per
 * tile, so a tile is never made twice at the same time), and the dataset step writes the split
 * files and `dataset.json` from the tiles' manifests. A failed tile is recorded, not fatal.
 */
export async function chipsWorkflow(raw: ChipsInput): Promise<ChipsSummary> {
  const input = parseWorkflowInput(ChipsInputParser, raw, "chips");
  const activities = proxyActivities<RunActivities & DatasetActivities>({
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
        const outcome = await executeChild(chipTileWorkflow, {
          workflowId: `${workflowInfo().workflowId}/${tileId}`,
          args: [
            {
              tileId,
              year: input.year,
              outputPrefix,
              datasetTiles: tileIds,
              scenes: input.scenes,
              chipCells: input.chipCells,
              cpuHeartbeatSeconds: input.cpuHeartbeatSeconds,
            },
          ],
        });
        outcomes.set(tileId, outcome);
      } catch (error) {
        outcomes.set(tileId, { tileId, status: "failed", reason: causeLine(rootCause(error)) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.maxTilesInFlight, tileIds.length) }, lane));
  const tiles = tileIds.map((t) => outcomes.get(t) as ChipTileOutcome);
  const counts = await activities.writeDataset({
    outputPrefix,
    input: { ...input, regionName: plan.regionName, tiles: tileIds },
    split: input.split,
    ...(input.maxChips !== undefined ? { maxChips: input.maxChips } : {}),
    tiles,
  });
  return { name: input.name, tiles, ...counts };
}
