// The run's workflow logic (fan-out, retry rounds, resume, cancellation, schedules) against the
// real Temporal server with stub activities: seconds a case, where the integration tests map real
// tiles for minutes. The stubs keep the activities' contracts (names, inputs, results' shapes).
import { ApplicationFailure, CancelledFailure, heartbeat, sleep } from "@temporalio/activity";
import { type Client, ScheduleOverlapPolicy, WorkflowFailedError } from "@temporalio/client";
import { type NativeConnection, Worker, type WorkflowBundleOption } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  GranuleActivities,
  LabelActivities,
  MosaicActivities,
  PredictActivities,
  ReportActivities,
  RunActivities,
  StageActivities,
  TileOutputActivities,
} from "../../activities/activity.types.ts";
import type { RunInput, RunStatus } from "../../lib/contracts/run.contract.ts";
import { runStatusQuery } from "../../lib/contracts/run.signals.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { connectWorker } from "../../lib/temporal/worker.connection.ts";

import { runWorkflow } from "../../workflows/index.ts";
import { testBundle } from "../support/test.bundle.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("run-logic");
const queue = config.taskQueues.cpu;
let connection: NativeConnection;
let client: Client;
let bundle: WorkflowBundleOption;

/** What the stubs saw and how they behave; one per test, keyed by the run's output prefix. */
interface World {
  tiles: string[];
  /** Tiles whose manifest exists before the run (a resumed run finds them done). */
  done: Set<string>;
  /** predictTile fails for good this many times per tile (then succeeds). */
  failures: Map<string, number>;
  /** predictTile holds until cancelled. */
  hold: boolean;
  predicted: string[];
  inFlight: number;
  maxInFlight: number;
  cancelled: number;
  reports: number;
}
const worlds = new Map<string, World>();
const worldOf = (outputPrefix: string) => {
  const world = worlds.get(outputPrefix.split("/").slice(0, 2).join("/"));
  if (!world) throw ApplicationFailure.nonRetryable(`no stub world for ${outputPrefix}`);
  return world;
};
const tileOf = (outputPrefix: string) => outputPrefix.split("/").at(-2) as string;

const stubs = {
  // Every run here names its tiles (RunInput.tiles), as a re-run of a chosen list does.
  async planRun(input: { tiles?: string[] }) {
    return { regionName: "Stubland", tileIds: input.tiles ?? [] };
  },
  async recordRunStart({ outputPrefix }: { outputPrefix: string }) {
    return `${outputPrefix}run.json`;
  },
  async recordRunTiles({ outputPrefix }: { outputPrefix: string }) {
    return { json: `${outputPrefix}tiles.json`, csv: `${outputPrefix}tiles.csv` };
  },
  async findTileOutput({ outputPrefix }: { outputPrefix: string }) {
    return worldOf(outputPrefix).done.has(tileOf(outputPrefix)) ? { tileId: tileOf(outputPrefix) } : null;
  },
  async labelGrid({ year }: { year: number }) {
    return { year, epsg: 5070, origin: [0, 0], pixelSize: 30, source: "stub" };
  },
  async selectGranules({ tileId }: { tileId: string }) {
    return {
      granules: [{ id: `HLS.S30.T${tileId}.2021150T160000.v2.0` }],
      candidates: 1,
      skipped: { count: 0, granules: [] },
      seconds: 0,
    };
  },
  async stageTile({ tileId }: { tileId: string }) {
    return { stackKey: `stacks/${tileId}`, grid: {}, validPixels: 1, bytes: 1, seconds: 0 };
  },
  async predictTile({ tileId, outputPrefix }: { tileId: string; outputPrefix: string }) {
    const world = worldOf(outputPrefix);
    world.inFlight++;
    world.maxInFlight = Math.max(world.maxInFlight, world.inFlight);
    try {
      if (world.hold) {
        for (;;) {
          heartbeat();
          await sleep(100);
        }
      }
      await sleep(150);
      const left = world.failures.get(tileId) ?? 0;
      if (left > 0) {
        world.failures.set(tileId, left - 1);
        throw ApplicationFailure.nonRetryable(`stub: ${tileId} has no clear date`, "NoUsableGranule");
      }
      world.predicted.push(tileId);
      return {
        classes: "c.tif",
        confidence: "p.tif",
        model: { name: "m", sha256: "s", provider: "cpu" },
        windows: {},
        pixels: {},
        seconds: 0,
      };
    } catch (error) {
      if (error instanceof CancelledFailure) world.cancelled++;
      throw error;
    } finally {
      world.inFlight--;
    }
  },
  async writeTileManifest({ outputPrefix, manifest }: { outputPrefix: string; manifest: object }) {
    worldOf(outputPrefix).done.add(tileOf(outputPrefix));
    return manifest;
  },
  async planReport({ outputPrefix }: { outputPrefix: string }) {
    worldOf(outputPrefix).reports++;
    return { grid: {}, sampleStep: 1, parts: [{ id: "region" }] };
  },
  async buildMosaicPart() {
    return { id: "region", rollups: "r.json", reused: false, seconds: 0 };
  },
  async assembleRunReport({ outputPrefix }: { outputPrefix: string }) {
    return { stac: `${outputPrefix}stac.json`, mosaic: `${outputPrefix}map.tif`, aAcc: 0.9, coverage: 1 };
  },
} satisfies Partial<
  Record<keyof (RunActivities & TileActivities & MosaicActivities & ReportActivities), unknown>
>;
type TileActivities = LabelActivities &
  GranuleActivities &
  StageActivities &
  PredictActivities &
  TileOutputActivities;

function newWorld(name: string, tiles: string[], edit: Partial<World> = {}): string {
  const prefix = `runs/${name}`;
  worlds.set(prefix, {
    tiles,
    done: new Set(),
    failures: new Map(),
    hold: false,
    predicted: [],
    inFlight: 0,
    maxInFlight: 0,
    cancelled: 0,
    reports: 0,
    ...edit,
  });
  return name;
}

function runInput(runId: string, edit: Partial<RunInput> = {}): RunInput {
  return {
    runId,
    tiles: (worlds.get(`runs/${runId}`) as World).tiles,
    region: { kind: "state", state: "RI" },
    year: 2021,
    model: "crop-tiny",
    chip: { size: 224, stride: 112 },
    inferenceQueue: queue,
    retryDelaySeconds: 0,
    ...edit,
  };
}

async function withWorker<T>(work: () => Promise<T>): Promise<T> {
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: queue,
    workflowBundle: bundle,
    activities: stubs,
  });
  return worker.runUntil(work());
}

beforeAll(async () => {
  connection = await connectWorker(config);
  client = await connectClient(config);
  bundle = testBundle();
});
afterAll(async () => {
  await connection?.close();
  await client?.connection.close();
});

const tiles = ["18TYL", "18TYM", "19TBF", "19TBG", "19TCF", "19TCG", "19TCH"];

describe("run workflow logic, stub activities", () => {
  it("fans every tile out through batches, never more in flight than asked, and reports once", async () => {
    const runId = newWorld("fan-out", tiles);
    const summary = await withWorker(() =>
      client.workflow.execute(runWorkflow, {
        taskQueue: queue,
        workflowId: runId,
        args: [runInput(runId, { batchSize: 3, maxTilesInFlight: 2 })],
      }),
    );
    const world = worlds.get(`runs/${runId}`) as World;
    expect(summary).toMatchObject({ total: 7, done: 7, failed: [] });
    expect(world.predicted.sort()).toEqual([...tiles].sort());
    expect(world.maxInFlight).toBeLessThanOrEqual(2);
    expect(world.reports).toBe(1);
    // Three batches of at most three tiles each in the first round.
    const children = await client.workflow.list({ query: `WorkflowId STARTS_WITH "${runId}/batch-r0-"` });
    let batches = 0;
    for await (const _ of children) batches++;
    expect(batches).toBe(3);
  });

  it("retries failed tiles in later rounds, and names a tile that fails in every round", async () => {
    const runId = newWorld("rounds", tiles.slice(0, 3), {
      failures: new Map([
        ["18TYM", 1],
        ["19TBF", 99],
      ]),
    });
    // A closed run's status is a query: a worker replays it, so it is asked while the worker runs.
    const [summary, status] = await withWorker(async () => {
      const result = await client.workflow.execute(runWorkflow, {
        taskQueue: queue,
        workflowId: runId,
        args: [runInput(runId, { retryRounds: 2 })],
      });
      return [result, await client.workflow.getHandle(runId).query(runStatusQuery)] as const;
    });
    expect(summary.done).toBe(2);
    expect(summary.failed).toEqual([{ tileId: "19TBF", reason: expect.stringContaining("no clear date") }]);
    const attempts = Object.fromEntries(
      status.tiles.map((t: RunStatus["tiles"][number]) => [t.tileId, t.attempts]),
    );
    expect(attempts).toEqual({ "18TYL": 1, "18TYM": 2, "19TBF": 3 });
    expect(status.round).toBe(2);
  });

  it("resumes: tiles whose output exists are not mapped again", async () => {
    const runId = newWorld("resume", tiles.slice(0, 4), { done: new Set(["18TYL", "19TBF"]) });
    const summary = await withWorker(() =>
      client.workflow.execute(runWorkflow, { taskQueue: queue, workflowId: runId, args: [runInput(runId)] }),
    );
    expect(summary).toMatchObject({ total: 4, done: 4 });
    expect((worlds.get(`runs/${runId}`) as World).predicted.sort()).toEqual(["18TYM", "19TBG"]);
  });

  it("cancels its tiles' running activities when the run is cancelled", async () => {
    const runId = newWorld("cancel", tiles.slice(0, 2), { hold: true });
    const world = worlds.get(`runs/${runId}`) as World;
    await withWorker(async () => {
      const handle = await client.workflow.start(runWorkflow, {
        taskQueue: queue,
        workflowId: runId,
        args: [runInput(runId)],
      });
      for (let i = 0; i < 200 && world.inFlight < 2; i++) await new Promise((r) => setTimeout(r, 50));
      expect(world.inFlight).toBe(2);
      await handle.cancel();
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      for (let i = 0; i < 200 && world.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 50));
    });
    expect(world.cancelled).toBe(2);
    expect(world.predicted).toEqual([]);
  });

  it("starts a run from a schedule when it is triggered", async () => {
    const runId = newWorld("scheduled", tiles.slice(0, 1));
    const schedule = await client.schedule.create({
      scheduleId: `${runId}-schedule`,
      spec: { calendars: [{ month: "JANUARY", dayOfMonth: 1 }] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      action: {
        type: "startWorkflow",
        workflowType: runWorkflow,
        taskQueue: queue,
        workflowId: runId,
        args: [runInput(runId)],
      },
      state: { paused: true },
    });
    try {
      const summary = await withWorker(async () => {
        await schedule.trigger();
        for (let i = 0; i < 200; i++) {
          const recent = (await schedule.describe()).info.recentActions;
          const started = recent[0]?.action.workflow;
          if (started)
            return client.workflow.getHandle(started.workflowId, started.firstExecutionRunId).result();
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error("the schedule started no run");
      });
      expect(summary).toMatchObject({ total: 1, done: 1 });
    } finally {
      await schedule.delete();
    }
  });
});
