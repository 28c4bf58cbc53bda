import { executeChild, getExternalWorkflowHandle } from "@temporalio/workflow";
import type { TileUpdate } from "../lib/contracts/run.contract.ts";
import { tileUpdateSignal, updateGroupSize } from "../lib/contracts/run.signals.ts";
import { type BatchInput, BatchInputParser } from "../lib/contracts/tile.contract.ts";
import { causeLine, rootCause } from "../lib/temporal/failure.chain.ts";
import { tileWorkflow } from "./tile.workflow.ts";
import { parseWorkflowInput } from "./workflow.input.ts";

/**
 * Runs a batch of a run's tiles, at most `maxInFlight` at once, each as the child workflow
 * `<run>/<tile>` (one id per tile, so a tile is never mapped twice at the same time), and tells
 * the run as each starts and ends.
 */
export async function batchWorkflow(raw: BatchInput): Promise<{ done: number; failed: number }> {
  const input = parseWorkflowInput(BatchInputParser, raw, "batch");
  const run = getExternalWorkflowHandle(input.parentWorkflowId);
  const groupSize = updateGroupSize(input.tiles.length);
  const pending: TileUpdate[] = [];
  let seq = 0;
  const report = async (update: Omit<TileUpdate, "round" | "seq">) => {
    pending.push({ ...update, round: input.round, seq: seq++ });
    if (pending.length >= groupSize) await run.signal(tileUpdateSignal, pending.splice(0));
  };
  let next = 0;
  let done = 0;
  let failed = 0;
  const lane = async () => {
    while (next < input.tiles.length) {
      const tileId = input.tiles[next++] as string;
      await report({ tileId, state: "running" });
      try {
        await executeChild(tileWorkflow, {
          workflowId: `${input.runId}/${tileId}`,
          args: [{ ...input.tileTemplate, tileId, outputPrefix: `${input.outputPrefix}tiles/${tileId}/` }],
        });
        done++;
        await report({ tileId, state: "done" });
      } catch (error) {
        failed++;
        await report({ tileId, state: "failed", reason: causeLine(rootCause(error)) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.maxInFlight, input.tiles.length) }, lane));
  if (pending.length) await run.signal(tileUpdateSignal, pending.splice(0));
  return { done, failed };
}
