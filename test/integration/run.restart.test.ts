import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@temporalio/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts } from "../../infra/dev/ports.ts";
import { stopServer } from "../../infra/dev/process.ts";
import { startTemporalServer, type TemporalServerOptions } from "../../infra/dev/temporal.server.ts";
import { loadConfig } from "../../lib/config/config.load.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import type { RunInput, RunStatus } from "../../lib/contracts/run.contract.ts";
import type { RunSummary } from "../../lib/contracts/run.summary.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { planWorld } from "../../scripts/synth/world.plan.ts";
import { spawnWorker } from "../support/child.worker.ts";
import { testConfig } from "../support/test.config.ts";
import { writeTestWorld } from "../support/test.world.ts";

// A Temporal server of this file's own, so that stopping it leaves the other tests alone.
let dir: string;
let server: TemporalServerOptions;
let pid: number;
let config: Config;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crop-map-restart-"));
  const [port, uiPort, httpPort, metricsPort] = (await freePorts(4)) as [number, number, number, number];
  server = { dir, port, uiPort, httpPort, metricsPort, namespace: "crop-map", detached: false };
  pid = (await startTemporalServer(server)).pid;
  const base = testConfig("restart");
  config = loadConfig({
    env: {},
    overrides: {
      temporal: { address: `127.0.0.1:${port}`, namespace: "crop-map" },
      s3: { endpoint: base.s3.endpoint },
      storage: Object.fromEntries(
        Object.entries(base.storage).map(([k, v]) => [k, `s3://${v.bucket}/${v.prefix}`]),
      ),
      taskQueues: base.taskQueues,
    },
  });
  const s3 = createS3Client(config);
  await writeTestWorld(
    planWorld({ state: "RI", year: 2022, scale: "small", seed: 4, season: { start: "04-01", end: "10-31" } }),
    { s3, config },
  );
  s3.destroy();
});

afterAll(async () => {
  if (pid) await stopServer(pid);
  await rm(dir, { recursive: true, force: true });
});

describe("Temporal server restart", () => {
  it("finishes a run when the server is stopped and restarted in the middle of it", async () => {
    const worker = spawnWorker("all", config, {}, { rowDelayMs: 300 });
    let client: Client = await connectClient(config);
    try {
      const input: RunInput = {
        runId: "run-restart",
        region: { kind: "state", state: "RI" },
        year: 2022,
        model: "crop-tiny",
        chip: { size: 224, stride: 112 },
        tiles: ["19TBG", "19TCG"],
        maxTilesInFlight: 1,
        retryRounds: 1,
        retryDelaySeconds: 1,
        inferenceQueue: config.taskQueues.inference,
      };
      const handle = await client.workflow.start("runWorkflow", {
        taskQueue: config.taskQueues.cpu,
        workflowId: "run-restart",
        args: [input],
      });
      // Let the first tile get going, then take the server away.
      const deadline = Date.now() + 60_000;
      let status: RunStatus | undefined;
      while (Date.now() < deadline && !status?.tiles.some((t) => t.state !== "pending")) {
        status = await handle.query<RunStatus>("status").catch(() => undefined);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(
        status?.tiles.some((t) => t.state === "running"),
        worker.output(),
      ).toBe(true);
      await client.connection.close();
      await stopServer(pid);
      await new Promise((r) => setTimeout(r, 2000));
      pid = (await startTemporalServer(server)).pid;

      client = await connectClient(config);
      const summary = (await client.workflow.getHandle("run-restart").result()) as RunSummary;
      expect(summary).toMatchObject({ total: 2, done: 2, failed: [] });
    } finally {
      await client.connection.close().catch(() => {});
      await worker.kill();
    }
  }, 240_000);
});
