import { defineQuery, defineSignal } from "@temporalio/workflow";
import type { RunStatus, TileUpdate } from "./run.contract.ts";

/** A run's progress: every tile's state, attempts and failure reason. */
export const runStatusQuery = defineQuery<RunStatus>("status");
/** Sent by batch workflows to their run as tiles start and end, several at once in large batches. */
export const tileUpdateSignal = defineSignal<[TileUpdate[]]>("tileUpdates");
