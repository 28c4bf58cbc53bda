import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Client } from "@temporalio/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts } from "../../infra/dev/ports.ts";
import { docker, dockerUnavailable } from "../../infra/images/docker.cli.ts";
import { checkoutBuildId, ensureWorkerImages, type WorkerImages } from "../../infra/images/images.build.ts";
import {
  containerLogs,
  type PoolContainer,
  publishModels,
  removePoolContainers,
  startPoolContainers,
  waitPolling,
} from "../../infra/images/pool.containers.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import type { RunInput, RunStatus } from "../../lib/contracts/run.contract.ts";
import type { RunSummary } from "../../lib/contracts/run.summary.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { planWorld } from "../../scripts/synth/world.plan.ts";
import { writeWorld } from "../../scripts/synth/world.writer.ts";
import { spawnWorker } from "../support/child.worker.ts";
import { differingMaps, waitForCheckpoint } from "../support/run.failover.ts";
import { testConfig } from "../support/test.config.ts";

/**
 * The worker images built and run: the CPU pool (2 replicas) and the inference pool (1) as
 * containers of this checkout's images, as the chart runs them, on the test stack. The inference
 * container is killed in the middle of a tile and started again; the maps must be byte-identical
 * to those of a run on plain worker processes. Needs a Docker daemon (and, the first time, root
 * and debootstrap to make the local base image): CI machines without one skip it, saying why.
 */
const unavailable = await dockerUnavailable();
const skipReason = unavailable ? `skipped: ${unavailable}; start one (as root: dockerd) to run it` : "";
if (unavailable) console.warn(`cluster.containers.test.ts ${skipReason}`);

const run = promisify(execFile);
const base = testConfig("cluster");
const s3 = createS3Client(base);
const tiles = ["19TBG"];
const model = "crop-tiny";
const prefix = `crop-map-test-${base.taskQueues.cpu.replace(/-cpu$/, "")}`;
let client: Client;
let images: WorkerImages;
let manifestsDir: string;

/** The same servers and inputs; a work folder and task queues of its own, so the two runs share nothing staged. */
function variant(suffix: string): Config {
  return {
    ...base,
    storage: {
      ...base.storage,
      work: { ...base.storage.work, prefix: `${base.storage.work.prefix}${suffix}/` },
    },
    taskQueues: {
      cpu: `${base.taskQueues.cpu}-${suffix}`,
      inference: `${base.taskQueues.inference}-${suffix}`,
    },
  };
}

function runInput(runId: string, config: Config): RunInput {
  return {
    runId,
    region: { kind: "state", state: "RI" },
    year: 2022,
    model,
    chip: { size: 224, stride: 112 },
    tiles,
    maxTilesInFlight: 1,
    retryRounds: 1,
    retryDelaySeconds: 1,
    inferenceQueue: config.taskQueues.inference,
    inferenceHeartbeatSeconds: 4,
    cpuHeartbeatSeconds: 15,
  };
}

async function metrics(container: PoolContainer): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${container.metricsPort}/metrics`);
  expect(response.status, container.name).toBe(200);
  return response.text();
}

describe.skipIf(unavailable)("worker pools as containers", () => {
  beforeAll(async () => {
    // Built when missing; the daemon's layer cache makes a rebuild of unchanged sources quick.
    images = await ensureWorkerImages(await checkoutBuildId(), () => {});
    await writeWorld(
      planWorld({
        state: "RI",
        year: 2022,
        scale: "small",
        seed: 8,
        season: { start: "04-01", end: "10-31" },
      }),
      { s3, config: base },
    );
    manifestsDir = await mkdtemp(join(tmpdir(), "crop-map-manifests-"));
    client = await connectClient(base);
  }, 1_800_000);

  afterAll(async () => {
    await removePoolContainers(prefix);
    await removePoolContainers(`${prefix}-badsha`);
    await client?.connection.close();
    if (manifestsDir) await rm(manifestsDir, { recursive: true, force: true });
    s3.destroy();
  });

  it("an inference container whose model does not match its manifest's sha256 exits at start", async () => {
    const config = variant("badsha");
    const dir = join(manifestsDir, "badsha");
    await publishModels(s3, config, [model], dir);
    const manifest = JSON.parse(await readFile(join(dir, `${model}.json`), "utf8"));
    await writeFile(join(dir, `${model}.json`), JSON.stringify({ ...manifest, sha256: "0".repeat(64) }));
    await expect(
      startPoolContainers({
        prefix: `${prefix}-badsha`,
        images,
        config,
        cpuReplicas: 0,
        inferenceReplicas: 1,
        metricsPorts: await freePorts(1),
        manifestsDir: dir,
        preload: [model],
      }),
    ).rejects.toThrow(/has sha256 [0-9a-f]{64}, manifest says 0{64}/);
  }, 300_000);

  it(`finish a run with maps identical to plain processes' after the inference container is killed ${skipReason}`, async () => {
    const plain = variant("plain");
    const workers = [spawnWorker("cpu", plain), spawnWorker("inference", plain)];
    try {
      const summary = (await client.workflow.execute("runWorkflow", {
        taskQueue: plain.taskQueues.cpu,
        workflowId: `${prefix}-plain`,
        args: [runInput("cluster-plain", plain)],
      })) as RunSummary;
      expect(summary).toMatchObject({ total: 1, done: 1, failed: [] });
    } finally {
      await Promise.all(workers.map((w) => w.kill()));
    }

    const contained = variant("containers");
    const dir = join(manifestsDir, "containers");
    await publishModels(s3, contained, [model], dir);
    const containers = await startPoolContainers({
      prefix,
      images,
      config: contained,
      cpuReplicas: 2,
      inferenceReplicas: 1,
      metricsPorts: await freePorts(3),
      manifestsDir: dir,
      preload: [model],
      env: { CROP_MAP_INFERENCE_ROW_DELAY_MS: "400", CROP_MAP_INFERENCE_CHECKPOINT_ROWS: "1" },
    });
    const inference = containers.find((c) => c.pool === "inference") as PoolContainer;
    const { sha256 } = JSON.parse(await readFile(join(dir, `${model}.json`), "utf8"));
    // The images' own users, and the model fetched from S3 and checked before the worker polled.
    for (const c of containers)
      expect((await docker(["exec", c.name, "id", "-u"])) !== "0", `${c.name} runs as root`).toBe(true);
    expect(await containerLogs(inference.name)).toContain(
      `Inference:Preload model=${model} sha256=${sha256}`,
    );

    const handle = await client.workflow.start("runWorkflow", {
      taskQueue: contained.taskQueues.cpu,
      workflowId: `${prefix}-containers`,
      args: [runInput("cluster-containers", contained)],
    });
    // Slowed inference, a checkpoint every window row: the kill lands inside the tile.
    const checkpointed = await waitForCheckpoint(s3, contained, 240_000);
    expect(checkpointed, await containerLogs(inference.name)).toBe(true);
    expect((await handle.query<RunStatus>("status")).tiles.some((t) => t.state !== "done")).toBe(true);
    await run("docker", ["kill", inference.name]);
    expect(await docker(["inspect", "--format", "{{.State.Running}}", inference.name])).toBe("false");
    await run("docker", ["start", inference.name]);
    await waitPolling(inference);

    const summary = (await handle.result()) as RunSummary;
    expect(summary, await containerLogs(inference.name)).toMatchObject({ total: 1, done: 1, failed: [] });
    expect(await differingMaps(s3, base, ["cluster-containers", "cluster-plain"], tiles)).toEqual([]);
    // Every container serves its metrics; the CPU pool's count the stages they ran.
    const texts = await Promise.all(containers.map(metrics));
    for (const text of texts) expect(text).toMatch(/^temporal_/m);
    expect(texts.slice(0, 2).join("\n")).toMatch(/^crop_map_stage_seconds_count\{[^}]*\} [1-9]/m);
  }, 900_000);
});
