import type { Client } from "@temporalio/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunStatus } from "../../lib/contracts/run.contract.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import type { RunStatusAnswer } from "../../scripts/commands/run.status.ts";
import { planWorld } from "../../scripts/synth/world.plan.ts";
import { configEnv, spawnWorker } from "../support/child.worker.ts";
import { cli } from "../support/cli.run.ts";
import { riRunInput } from "../support/ri.run.ts";
import { testConfig } from "../support/test.config.ts";
import { writeTestWorld } from "../support/test.world.ts";

const config = testConfig("status");
const s3 = createS3Client(config);
const env = configEnv(config);
let client: Client;

async function status(runId: string): Promise<{ text: string; json: RunStatusAnswer }> {
  const human = await cli(["status", runId], env);
  expect(human.code, human.stderr).toBe(0);
  const json = await cli(["status", runId, "--json"], env);
  expect(json.code, json.stderr).toBe(0);
  return { text: human.stdout, json: JSON.parse(json.stdout) };
}

beforeAll(async () => {
  await writeTestWorld(
    planWorld({ state: "RI", year: 2022, scale: "small", seed: 4, season: { start: "04-01", end: "10-31" } }),
    { s3, config },
  );
  client = await connectClient(config);
}, 600_000);

afterAll(async () => {
  await client?.connection.close();
  s3.destroy();
});

describe("crop-map status", () => {
  it("answers for a run before, while and after a worker runs it, and once the worker has stopped", async () => {
    const runId = "status-run";
    const handle = await client.workflow.start("runWorkflow", {
      taskQueue: config.taskQueues.cpu,
      workflowId: runId,
      args: [riRunInput(runId, config, { tiles: ["19TCG"] })],
    });

    // No worker has ever polled: the tile states are out of reach, and it says why.
    const before = await status(runId);
    expect(before.json).toMatchObject({ workflowStatus: "RUNNING", tilesFrom: "none" });
    expect(before.json.unreadable).toContain(`no worker polls task queue '${config.taskQueues.cpu}'`);
    expect(before.text).toContain("workflow running");
    expect(before.text).toContain(`no worker polls task queue '${config.taskQueues.cpu}'`);
    expect(before.text).toContain(`no run.json under runs/${runId}/ yet`);

    // A CPU worker only: the run plans and stages its tile, then waits for inference, still running.
    const cpu = spawnWorker("cpu", config);
    let inference: ReturnType<typeof spawnWorker> | undefined;
    try {
      let live: RunStatus | undefined;
      for (let i = 0; i < 600 && !live?.tiles.length; i++) {
        live = await handle.query<RunStatus>("status").catch(() => undefined);
        if (!live?.tiles.length) await new Promise((r) => setTimeout(r, 200));
      }
      expect(
        live?.tiles.map((t) => t.tileId),
        cpu.output(),
      ).toEqual(["19TCG"]);
      const during = await status(runId);
      expect(during.json.tilesFrom).toBe("query");
      expect(during.json.status?.tiles.map((t) => t.tileId)).toEqual(["19TCG"]);
      expect(during.text).toContain(`run ${runId}: Rhode Island (RI) 2022`);
      expect(during.text).toContain("tiles from its status query");
      inference = spawnWorker("inference", config);
      await handle.result();
    } finally {
      await cpu.kill();
      await inference?.kill();
    }

    // Finished, no worker left: from the workflow's result and the run's tiles.json.
    const after = await status(runId);
    expect(after.json).toMatchObject({
      workflowStatus: "COMPLETED",
      tilesFrom: "tiles.json",
      outputPrefix: `runs/${runId}/`,
      summary: { total: 1, done: 1, failed: [] },
    });
    expect(after.json.unreadable).toBeUndefined();
    expect(after.json.status?.phase).toBe("finished");
    expect(after.json.status?.tiles).toEqual([{ tileId: "19TCG", state: "done", attempts: 1 }]);
    expect(after.text).toContain(`run ${runId}: Rhode Island (RI) 2022, finished`);
    expect(after.text).toMatch(/tiles \[#+\] 1\/1 done 100%/);
    expect(after.text).toContain("workflow completed");
    expect(after.text).toContain("tiles from its tiles.json");
    expect(after.text).toContain(`runs/${runId}/report.html`);
  });

  it("says what it cannot read for a run stopped before it recorded its tiles, with no worker", async () => {
    const runId = "status-terminated";
    const handle = await client.workflow.start("runWorkflow", {
      taskQueue: `${config.taskQueues.cpu}-idle`,
      workflowId: runId,
      args: [riRunInput(runId, config, { tiles: ["19TCG"] })],
    });
    await handle.terminate("stopped by the test");
    const { text, json } = await status(runId);
    expect(json).toMatchObject({ workflowStatus: "TERMINATED", tilesFrom: "none" });
    expect(json.closedAt).toBeDefined();
    expect(json.unreadable).toContain("they live in the terminated workflow, which a worker must replay");
    expect(text).toContain("workflow terminated");
    expect(text).toContain(`no worker polls task queue '${config.taskQueues.cpu}-idle'`);
  });
});
