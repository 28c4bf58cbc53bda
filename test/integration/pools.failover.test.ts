import type { Client } from "@temporalio/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../../lib/config/config.schema.ts";
import type { RunInput, RunStatus } from "../../lib/contracts/run.contract.ts";
import type { RunSummary } from "../../lib/contracts/run.summary.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { planWorld } from "../../scripts/synth/world.plan.ts";
import { spawnWorker } from "../support/child.worker.ts";
import { riRunInput } from "../support/ri.run.ts";
import { differingMaps, waitForCheckpoint } from "../support/run.failover.ts";
import { testConfig } from "../support/test.config.ts";
import { writeTestWorld } from "../support/test.world.ts";

/**
 * The pools as on separate hosts: CPU and inference workers in processes of their own. Killing a
 * CPU worker and the inference worker in the middle of a run, then starting replacements, must
 * end with the same maps as a clean run.
 */
const config = testConfig("pools");
const s3 = createS3Client(config);
const tiles = ["19TBG", "19TCG", "19TCF"];
let client: Client;

/** The same servers, buckets and queues, with a work folder of its own (nothing staged is shared). */
function withWork(suffix: string): Config {
  const work = { ...config.storage.work, prefix: `${config.storage.work.prefix}${suffix}/` };
  return { ...config, storage: { ...config.storage, work } };
}

function runInput(runId: string): RunInput {
  return riRunInput(runId, config, {
    tiles,
    maxTilesInFlight: 2,
    retryRounds: 1,
    retryDelaySeconds: 1,
    inferenceHeartbeatSeconds: 4,
    cpuHeartbeatSeconds: 15,
  });
}

beforeAll(async () => {
  await writeTestWorld(
    planWorld({ state: "RI", year: 2022, scale: "small", seed: 4, season: { start: "04-01", end: "10-31" } }),
    { s3, config },
  );
  client = await connectClient(config);
});

afterAll(async () => {
  await client?.connection.close();
  s3.destroy();
});

describe("worker pools in separate processes", () => {
  it("finish a run with maps identical to a clean run after a CPU worker and the inference worker die", async () => {
    const clean = withWork("clean");
    const cleanWorkers = [spawnWorker("cpu", clean), spawnWorker("inference", clean)];
    try {
      const summary = (await client.workflow.execute("runWorkflow", {
        taskQueue: config.taskQueues.cpu,
        workflowId: "pools-clean",
        args: [runInput("pools-clean")],
      })) as RunSummary;
      expect(summary).toMatchObject({ total: 3, done: 3, failed: [] });
    } finally {
      await Promise.all(cleanWorkers.map((w) => w.kill()));
    }

    const failover = withWork("failover");
    const slowInference = { CROP_MAP_INFERENCE_CHECKPOINT_ROWS: "1" };
    const doomedCpu = spawnWorker("cpu", failover);
    const survivingCpu = spawnWorker("cpu", failover);
    const doomedInference = spawnWorker("inference", failover, slowInference, { rowDelayMs: 400 });
    const replacements: ReturnType<typeof spawnWorker>[] = [];
    try {
      const handle = await client.workflow.start("runWorkflow", {
        taskQueue: config.taskQueues.cpu,
        workflowId: "pools-failover",
        args: [runInput("pools-failover")],
      });
      // Wait until inference is part-way through a tile (a checkpoint is written), then kill.
      const checkpointed = await waitForCheckpoint(s3, failover, 120_000);
      expect(checkpointed, doomedInference.output()).toBe(true);
      const during = await handle.query<RunStatus>("status");
      expect(during.tiles.some((t) => t.state !== "done")).toBe(true);
      await Promise.all([doomedCpu.kill(), doomedInference.kill()]);

      replacements.push(spawnWorker("inference", failover), spawnWorker("cpu", failover));
      const summary = (await handle.result()) as RunSummary;
      expect(summary, survivingCpu.output()).toMatchObject({ total: 3, done: 3, failed: [] });
      expect(await differingMaps(s3, config, ["pools-failover", "pools-clean"], tiles)).toEqual([]);
    } finally {
      await Promise.all([doomedCpu, survivingCpu, doomedInference, ...replacements].map((w) => w.kill()));
    }
  }, 420_000);
});
