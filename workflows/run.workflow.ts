import { executeChild, proxyActivities, setHandler, sleep, workflowInfo } from "@temporalio/workflow";
import type { RunActivities } from "../activities/activity.types.ts";
import { ActivityRetry } from "../lib/contracts/retry.policies.ts";
import {
  type RunInput,
  RunInputParser,
  type RunStatus,
  runIdFromWorkflowId,
} from "../lib/contracts/run.contract.ts";
import { runStatusQuery, tileUpdateSignal } from "../lib/contracts/run.signals.ts";
import type { RunSummary } from "../lib/contracts/run.summary.ts";
import type { TileWorkflowInput } from "../lib/contracts/tile.contract.ts";
import { batchWorkflow } from "./batch.workflow.ts";
import { reportWorkflow } from "./report.workflow.ts";
import { parseWorkflowInput } from "./workflow.input.ts";

const retry = ActivityRetry;
const activities = proxyActivities<RunActivities>({ startToCloseTimeout: "5m", retry });

/**
 * A region's season: the tiles fan out in batch workflows (a second level that keeps every
 * history small: the run sees a few batched progress signals, not a child per tile), failed
 * tiles are retried in later rounds, and the outcome of every tile is written under the output
 * prefix.
 */
export async function runWorkflow(raw: RunInput): Promise<RunSummary> {
  const parsed = parseWorkflowInput(RunInputParser, raw, "run");
  const runId = parsed.runId ?? runIdFromWorkflowId(workflowInfo().workflowId);
  const input = { ...parsed, runId, outputPrefix: parsed.outputPrefix ?? `runs/${runId}/` };
  const started = Date.now();
  const thisYear = new Date(workflowInfo().runStartTime).getUTCFullYear();
  const year = input.year === "current" ? thisYear : input.year === "previous" ? thisYear - 1 : input.year;
  const status: RunStatus = {
    runId: input.runId,
    year,
    region: "",
    outputPrefix: input.outputPrefix,
    phase: "planning",
    round: 0,
    startedAt: new Date(started).toISOString(),
    finishedOffsets: [],
    tiles: [],
  };
  const byTile = new Map<string, RunStatus["tiles"][number]>();
  const lastUpdate = new Map<string, [number, number]>();
  setHandler(runStatusQuery, () => status);
  setHandler(tileUpdateSignal, (updates) => {
    for (const update of updates) {
      const tile = byTile.get(update.tileId);
      const last = lastUpdate.get(update.tileId);
      if (!tile || (last && (last[0] > update.round || (last[0] === update.round && last[1] > update.seq))))
        continue;
      lastUpdate.set(update.tileId, [update.round, update.seq]);
      tile.state = update.state;
      if (update.state === "running") tile.attempts++;
      if (update.state === "failed") tile.reason = update.reason;
      if (update.state === "done") {
        delete tile.reason;
        status.finishedOffsets.push((Date.now() - started) / 1000);
      }
    }
  });

  const plan = await activities.planRun({
    region: input.region,
    ...(input.tiles ? { tiles: input.tiles } : {}),
  });
  status.region = plan.regionName;
  for (const tileId of plan.tileIds) {
    const tile = { tileId, state: "pending" as const, attempts: 0 };
    byTile.set(tileId, tile);
    status.tiles.push(tile);
  }
  await activities.recordRunStart({
    outputPrefix: input.outputPrefix,
    run: { ...input, year, region: input.region, tiles: plan.tileIds },
  });

  const tileTemplate: Omit<TileWorkflowInput, "tileId" | "outputPrefix"> = {
    year,
    model: input.model,
    windows: input.windows,
    maxCloudCover: input.maxCloudCover,
    minSpatialCoverage: input.minSpatialCoverage,
    chip: input.chip,
    ...(input.series ? { series: input.series } : {}),
    ...(input.tiling ? { tiling: input.tiling } : {}),
    inferenceQueue: input.inferenceQueue,
    inferenceHeartbeatSeconds: input.inferenceHeartbeatSeconds,
    cpuHeartbeatSeconds: input.cpuHeartbeatSeconds,
  };
  for (let round = 0; round <= input.retryRounds; round++) {
    const todo = status.tiles.filter((t) => t.state !== "done").map((t) => t.tileId);
    if (todo.length === 0) break;
    if (round > 0) {
      status.phase = "retrying";
      await sleep(input.retryDelaySeconds * 1000);
    } else status.phase = "mapping";
    status.round = round;
    for (let b = 0; b * input.batchSize < todo.length; b++) {
      await executeChild(batchWorkflow, {
        workflowId: `${input.runId}/batch-r${round}-${b}`,
        args: [
          {
            runId: input.runId,
            round,
            parentWorkflowId: workflowInfo().workflowId,
            tiles: todo.slice(b * input.batchSize, (b + 1) * input.batchSize),
            outputPrefix: input.outputPrefix,
            maxInFlight: input.maxTilesInFlight,
            tileTemplate,
          },
        ],
      });
    }
  }

  status.phase = "recording";
  const files = await activities.recordRunTiles({ outputPrefix: input.outputPrefix, status });
  const finished = status.tiles.filter((t) => t.state === "done").map((t) => t.tileId);
  const report = finished.length
    ? await executeChild(reportWorkflow, {
        workflowId: `${input.runId}/report`,
        args: [
          {
            runId: input.runId,
            region: input.region,
            year,
            model: input.model,
            outputPrefix: input.outputPrefix,
            tiles: finished,
          },
        ],
      })
    : undefined;
  status.phase = "finished";
  const failed = status.tiles.filter((t) => t.state !== "done");
  return {
    runId: input.runId,
    outputPrefix: input.outputPrefix,
    region: status.region,
    year,
    total: status.tiles.length,
    done: status.tiles.length - failed.length,
    failed: failed.map((t) => ({ tileId: t.tileId, reason: t.reason ?? t.state })),
    tilesJson: files.json,
    tilesCsv: files.csv,
    ...(report ? { report } : {}),
  };
}
