import { defineQuery, defineSignal } from "@temporalio/workflow";
import type { RunStatus, TileUpdate } from "./run.contract.ts";

/** A run's progress: every tile's state, attempts and failure reason. */
export const runStatusQuery = defineQuery<RunStatus>("status");
/** Sent by batch workflows to their run as tiles start and end, several at once in large batches. */
export const tileUpdateSignal = defineSignal<[TileUpdate[]]>("tileUpdates");

/**
 * How many tile updates a batch of `tiles` sends in one signal: a twentieth of the batch, so a
 * 200-tile batch sends about 40 signals instead of 400, and a small one reports every change at once.
 */
export function updateGroupSize(tiles: number): number {
  return Math.max(1, Math.floor(tiles / 20));
}
