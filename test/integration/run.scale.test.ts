import type { Client } from "@temporalio/client";
import { temporal } from "@temporalio/proto";
import { type NativeConnection, Worker } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunInput, RunStatus } from "../../lib/contracts/run.contract.ts";
import { updateGroupSize } from "../../lib/contracts/run.signals.ts";
import type { RunSummary } from "../../lib/contracts/run.summary.ts";
import type { TileManifest } from "../../lib/contracts/tile.contract.ts";
import { allTiles } from "../../lib/grid/tile.table.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { connectWorker } from "../../lib/temporal/worker.connection.ts";
import { testBundle } from "../support/test.bundle.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("scale");
// Two full batches at the default batch size (50): a batch's history is that of any batch of a
// contiguous-US run (about 1,000 tiles, 20 batches), the run's grows by a fixed count per batch and
// a batch's by a fixed count per tile, so both are checked as they would be there, and a batch at
// the largest size a run takes. The whole contiguous US, with imagery-free tiles, is
// scripts/bench/conus.run.ts.
const BatchSize = 50;
const Tiles = allTiles()
  .slice(0, 2 * BatchSize)
  .map((t) => t.tileId);
const ConusBatches = 20;
const LargestBatch = 500;
let connection: NativeConnection;
let client: Client;

/** The real workflows with activities that do no work: only the orchestration is measured. */
const lightweight = {
  async planRun() {
    return { regionName: `${Tiles.length} tiles`, tileIds: Tiles };
  },
  async recordRunStart() {
    return "s3://none/run.json";
  },
  async recordRunTiles() {
    return { json: "s3://none/tiles.json", csv: "s3://none/tiles.csv" };
  },
  async findTileOutput(): Promise<Partial<TileManifest>> {
    return { tileId: "done" };
  },
  async planReport() {
    return { grid: {}, sampleStep: 1, parts: [] };
  },
  async assembleRunReport() {
    return { reportHtml: "s3://none/report.html", aAcc: null, coverage: null };
  },
};

const E = temporal.api.enums.v1.EventType;
const TaskEvents = new Set([
  E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
  E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
  E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
  E.EVENT_TYPE_WORKFLOW_TASK_FAILED,
  E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
]);
/** Events that hand a workflow something new: each may cost a workflow task (3 events) of its own. */
const WakingEvents = new Set([
  E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
  E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
  E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
  E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
  E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
  E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
  E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
  E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
  E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
  E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
  E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
  E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
  E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
  E.EVENT_TYPE_TIMER_FIRED,
]);
const SentSignalEvents = new Set([
  E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
  E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
  E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
]);
const OnceEvents = new Set([
  E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
  E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
]);

type History = temporal.api.history.v1.IHistory;

/**
 * A history's event count at a larger scale, at its worst: every event but the workflow tasks is
 * counted `scale` times (the signals it sends `signalScale` times, its start and end once), and
 * every event that wakes the workflow gets a workflow task of its own. How many wakings share a task
 * depends on the machine's load, so a measured count varies between runs (a batch of 50 took 378
 * events on one run and 513 on another); this bound does not.
 */
function worstCaseEvents(history: History, scale: number, signalScale = scale): number {
  let events = 0;
  let waking = 0;
  for (const event of history.events ?? []) {
    const type = event.eventType ?? E.EVENT_TYPE_UNSPECIFIED;
    if (TaskEvents.has(type)) continue;
    const weight = OnceEvents.has(type) ? 1 : SentSignalEvents.has(type) ? signalScale : scale;
    events += weight;
    if (WakingEvents.has(type)) waking += weight;
  }
  return Math.ceil(events + 3 * (waking + 1));
}

/** The tile updates a batch sent its run, read back from the signals in its history. */
function updatesSent(history: History): number {
  return (history.events ?? [])
    .map((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.input?.payloads?.[0]?.data)
    .filter((data): data is Uint8Array => data instanceof Uint8Array)
    .reduce((n, data) => n + (JSON.parse(Buffer.from(data).toString("utf8")) as unknown[]).length, 0);
}

/** How many signals a batch of `tiles` sends for `perTile` updates a tile. */
function signalsFor(tiles: number, perTile: number): number {
  return Math.ceil((tiles * perTile) / updateGroupSize(tiles));
}

function historyBytes(history: History): number {
  return temporal.api.history.v1.History.encode(history).finish().length;
}

beforeAll(async () => {
  connection = await connectWorker(config);
  client = await connectClient(config);
});
afterAll(async () => {
  await client?.connection.close();
  await connection?.close();
});

describe("run orchestration at contiguous-US scale", () => {
  it("maps two full batches of tiles with every history far inside Temporal's limits", async () => {
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.taskQueues.cpu,
      workflowBundle: testBundle(),
      activities: lightweight,
      maxConcurrentWorkflowTaskExecutions: 50,
    });
    const runId = "scale-batches";
    const input: RunInput = {
      runId,
      region: { kind: "bbox", bbox: [-125, 24, -66, 50] },
      year: 2022,
      model: "crop-tiny",
      chip: { size: 224, stride: 112 },
      maxTilesInFlight: 100,
      batchSize: BatchSize,
      retryRounds: 0,
      inferenceQueue: config.taskQueues.inference,
    };
    const started = Date.now();
    // Queries need a worker: ask for the status before this one stops.
    const [summary, status] = await worker.runUntil(async () => {
      const result = (await client.workflow.execute("runWorkflow", {
        taskQueue: config.taskQueues.cpu,
        workflowId: runId,
        args: [input],
      })) as RunSummary;
      return [result, await client.workflow.getHandle(runId).query<RunStatus>("status")] as const;
    });
    const seconds = (Date.now() - started) / 1000;
    expect(summary).toMatchObject({ total: Tiles.length, done: Tiles.length, failed: [] });

    const runHistory = await client.workflow.getHandle(runId).fetchHistory();
    const batchHistories = await Promise.all(
      [0, 1].map((b) => client.workflow.getHandle(`${runId}/batch-r0-${b}`).fetchHistory()),
    );
    const tileHistory = await client.workflow.getHandle(`${runId}/${Tiles[75]}`).fetchHistory();
    const batch = batchHistories[0] as History;
    const batchTiles = BatchSize;
    const perTile = updatesSent(batch) / batchTiles;
    expect(perTile).toBe(2); // a tile's start and its end
    // The bound holds for what was measured, so it can be trusted at scale.
    for (const h of [runHistory, ...batchHistories, tileHistory]) {
      expect(h.events?.length ?? 0).toBeLessThanOrEqual(worstCaseEvents(h, 1));
    }
    const conusRun = {
      events: worstCaseEvents(runHistory, ConusBatches / batchHistories.length),
      bytes: Math.ceil((historyBytes(runHistory) * ConusBatches) / batchHistories.length),
    };
    const largestBatch = {
      events: worstCaseEvents(
        batch,
        LargestBatch / batchTiles,
        signalsFor(LargestBatch, perTile) / signalsFor(batchTiles, perTile),
      ),
      bytes: Math.ceil((historyBytes(batch) * LargestBatch) / batchTiles),
    };
    const measured = (h: History) =>
      `${h.events?.length ?? 0} events / ${(historyBytes(h) / 1024).toFixed(0)} KiB`;
    console.log(
      `${Tiles.length}-tile orchestration: ${seconds.toFixed(1)} s (${(Tiles.length / seconds).toFixed(1)} tiles/s); ` +
        `run history ${measured(runHistory)}, at ${ConusBatches} batches at most ${conusRun.events} events / ${(conusRun.bytes / 1024).toFixed(0)} KiB; ` +
        `batch ${measured(batch)}, at ${LargestBatch} tiles at most ${largestBatch.events} events / ${(largestBatch.bytes / 1024).toFixed(0)} KiB; ` +
        `tile ${measured(tileHistory)}`,
    );
    // Temporal refuses histories past 51,200 events or 50 MiB; stay an order of magnitude below.
    expect(Math.max(conusRun.events, largestBatch.events)).toBeLessThan(5120);
    expect(Math.max(conusRun.bytes, largestBatch.bytes)).toBeLessThan(5 * 2 ** 20);
    expect(status.tiles.filter((t) => t.state === "done")).toHaveLength(Tiles.length);
    expect(status.phase).toBe("finished");
  }, 600_000);
});
