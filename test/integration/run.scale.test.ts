import type { Client } from "@temporalio/client";
import { temporal } from "@temporalio/proto";
import { type NativeConnection, Worker } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunInput, RunStatus } from "../../lib/contracts/run.contract.ts";
import type { RunSummary } from "../../lib/contracts/run.summary.ts";
import type { TileManifest } from "../../lib/contracts/tile.contract.ts";
import { allTiles } from "../../lib/grid/tile.table.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { connectWorker } from "../../lib/temporal/worker.connection.ts";
import { bundleWorkflows } from "../../workers/worker.factory.ts";
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

function historyStats(history: temporal.api.history.v1.IHistory) {
  return {
    events: history.events?.length ?? 0,
    bytes: temporal.api.history.v1.History.encode(history).finish().length,
  };
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
      workflowBundle: await bundleWorkflows(),
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

    const run = historyStats(await client.workflow.getHandle(runId).fetchHistory());
    const batches = await Promise.all(
      [0, 1].map(async (b) =>
        historyStats(await client.workflow.getHandle(`${runId}/batch-r0-${b}`).fetchHistory()),
      ),
    );
    const tile = historyStats(await client.workflow.getHandle(`${runId}/${Tiles[75]}`).fetchHistory());
    // The run's history at the contiguous US's batches, and a batch's at the largest batch size.
    const scaled = (h: { events: number; bytes: number }, by: number) => ({
      events: Math.ceil(h.events * by),
      bytes: Math.ceil(h.bytes * by),
    });
    const conusRun = scaled(run, ConusBatches / batches.length);
    const batchOf = (b: number) => batches[b] as { events: number; bytes: number };
    const largestBatch = scaled(batchOf(0), LargestBatch / BatchSize);
    const largest = [conusRun, largestBatch, ...batches, tile].reduce((a, b) =>
      b.events > a.events ? b : a,
    );
    console.log(
      `${Tiles.length}-tile orchestration: ${seconds.toFixed(1)} s (${(Tiles.length / seconds).toFixed(1)} tiles/s); ` +
        `run history ${run.events} events / ${(run.bytes / 1024).toFixed(0)} KiB ` +
        `(at ${ConusBatches} batches about ${conusRun.events} / ${(conusRun.bytes / 1024).toFixed(0)} KiB); ` +
        `a batch of ${LargestBatch} about ${largestBatch.events} events / ${(largestBatch.bytes / 1024).toFixed(0)} KiB; ` +
        `largest batch ${Math.max(...batches.map((b) => b.events))} events / ${(Math.max(...batches.map((b) => b.bytes)) / 1024).toFixed(0)} KiB; ` +
        `tile ${tile.events} events`,
    );
    // Temporal refuses histories past 51,200 events or 50 MiB; stay an order of magnitude below.
    expect(largest.events).toBeLessThan(5120);
    expect(Math.max(conusRun.bytes, largestBatch.bytes)).toBeLessThan(5 * 2 ** 20);
    expect(status.tiles.filter((t) => t.state === "done")).toHaveLength(Tiles.length);
    expect(status.phase).toBe("finished");
  }, 600_000);
});
