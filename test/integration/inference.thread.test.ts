import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@temporalio/client";
import type { NativeConnection } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PredictedTile } from "../../lib/contracts/predict.contract.ts";
import type { TileWorkflowInput } from "../../lib/contracts/tile.contract.ts";
import type { ModelManifest } from "../../lib/model/model.manifest.ts";
import { loadModel, runBatch } from "../../lib/model/model.session.ts";
import { InferenceCounters } from "../../lib/model/model.thread.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getJson, ref } from "../../lib/storage/s3.objects.ts";
import { planWorld } from "../../scripts/synth/world.plan.ts";
import { createInferenceWorker } from "../../workers/worker.factory.ts";
import { type CpuPool, startCpuPool } from "../support/cpu.pool.ts";
import { testConfig } from "../support/test.config.ts";
import { writeTestModel } from "../support/test.models.ts";
import { writeTestWorld } from "../support/test.world.ts";
import { tileWithModel } from "../support/tile.input.ts";

// Batches of 4 windows, and windows that do not overlap (a quarter of the windows of the seed's
// stride: the test needs three batches, and each costs seconds); the heartbeat timeout is 2 s, and
// the model is made slow enough that one batch takes several of those (checked before the tiles
// run, and made heavier if it does not). Not 1 s: under heavy load the event loop of the process
// running the test stalls for up to about a second, which is not what this test is about.
const BatchSize = 4;
const config = {
  ...testConfig("thread"),
  inference: { ...testConfig("thread").inference, batchSize: BatchSize },
};
const HeartbeatSeconds = 2;
const s3 = createS3Client(config);
let connection: NativeConnection;
let client: Client;
let pool: CpuPool | undefined;
let modelsDir: string;
let slow: ModelManifest;
/** The same model at the seed's stride (four times the windows): a tile long enough to cancel. */
let dense: ModelManifest;

function tileInput(outputPrefix: string, model = slow): TileWorkflowInput {
  return { ...tileWithModel(config, model, outputPrefix), inferenceHeartbeatSeconds: HeartbeatSeconds };
}

beforeAll(async () => {
  modelsDir = await mkdtemp(join(tmpdir(), "slow-models-"));
  // Make the model heavier until one batch takes at least three heartbeat timeouts on this machine:
  // from a light model's time, the layers that should take a third more than that (a batch's time
  // grows with its layers), then twice as many while that falls short.
  const batchMs = async (layers: number) => {
    slow = await writeTestModel(modelsDir, `slow-${layers}`, { layers, channels: 64, stride: 224 });
    const loaded = await loadModel(slow, s3, { device: "cpu", modelsDir }, () => {});
    const t = performance.now();
    await runBatch(loaded, new Float32Array(BatchSize * 18 * 224 * 224), BatchSize);
    return performance.now() - t;
  };
  const Needed = 3_000 * HeartbeatSeconds;
  const light = await batchMs(2);
  let layers = Math.min(64, 2 ** Math.ceil(Math.log2(Math.max(4, (2 * 1.33 * Needed) / light))));
  while ((await batchMs(layers)) < Needed && layers < 64) layers *= 2;
  dense = await writeTestModel(modelsDir, `dense-${layers}`, { layers, channels: 64 });
  await writeTestWorld(
    planWorld({ state: "RI", year: 2022, scale: "small", seed: 3, season: { start: "04-01", end: "10-31" } }),
    { s3, config },
  );
  pool = await startCpuPool(config, s3);
  ({ connection, client } = pool);
}, 600_000);

afterAll(async () => {
  await pool?.stop();
  s3.destroy();
});

async function until(condition: () => boolean, what: string, ms = 300_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("inference off the event loop", () => {
  let batches = 0;

  it("finishes a tile in one attempt when each batch takes several heartbeat timeouts", async () => {
    // Workflows (cpu queue) and inference share this process, as in the `all` pool.
    const inference = await createInferenceWorker({ connection, config, s3, modelsDir });
    const workflowId = "thread-slow-once";
    const started = InferenceCounters.batchesStarted;
    await inference.runUntil(
      client.workflow.execute("tileWorkflow", {
        taskQueue: config.taskQueues.cpu,
        workflowId,
        args: [tileInput("slow/19TCG/")],
      }),
    );
    batches = InferenceCounters.batchesStarted - started;
    const summary = (await getJson(
      s3,
      ref(config.storage.outputs, "slow/19TCG/predict.json"),
    )) as PredictedTile;
    expect(summary.model.sha256).toBe(slow.sha256);
    expect(summary.resumedFromRow).toBe(0);
    expect(batches).toBeGreaterThanOrEqual(3);
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const events = history.events ?? [];
    const predictScheduled = events.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === "predictTile",
    );
    expect(predictScheduled).toHaveLength(1);
    // One attempt: no heartbeat timeout, no retry.
    expect(events.filter((e) => e.activityTaskTimedOutEventAttributes)).toHaveLength(0);
    const started_ = events.filter((e) => e.activityTaskStartedEventAttributes);
    expect(started_.every((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) === 1)).toBe(true);
  });

  it("stops a cancelled tile's inference within one batch", async () => {
    let tilesRunning = 0;
    const inference = await createInferenceWorker({
      connection,
      config,
      s3,
      modelsDir,
      tilesRunning: (delta) => {
        tilesRunning += delta;
      },
    });
    const running = inference.run();
    try {
      const handle = await client.workflow.start("tileWorkflow", {
        taskQueue: config.taskQueues.cpu,
        workflowId: "thread-slow-cancelled",
        args: [tileInput("cancelled/19TCG/", dense)],
      });
      const before = InferenceCounters.batchesStarted;
      await until(() => InferenceCounters.batchesStarted > before, "the first batch");
      await handle.cancel();
      const atCancel = InferenceCounters.batchesStarted;
      await expect(handle.result()).rejects.toThrow();
      await until(() => tilesRunning === 0, "the cancelled activity to return");
      // The batch running when the cancel came may finish, and one more may have started before the
      // cancel reached the activity; the tile itself has about four times the first test's batches.
      expect(InferenceCounters.batchesStarted - atCancel).toBeLessThanOrEqual(1);
      expect(3 * batches).toBeGreaterThan(InferenceCounters.batchesStarted - before + 1);
      expect(await getJson(s3, ref(config.storage.outputs, "cancelled/19TCG/predict.json"))).toBeUndefined();
    } finally {
      inference.shutdown();
      await running;
    }
  });
});
