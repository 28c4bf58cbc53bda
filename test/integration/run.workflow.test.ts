import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { type Client, ScheduleOverlapPolicy } from "@temporalio/client";
import type { NativeConnection, Worker } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGranuleActivities } from "../../activities/granules.activities.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import { parseGranuleId } from "../../lib/contracts/granule.id.ts";
import type { RunInput, RunStatus } from "../../lib/contracts/run.contract.ts";
import type { RunSummary } from "../../lib/contracts/run.summary.ts";
import { DefaultSeasonWindows } from "../../lib/contracts/season.windows.ts";
import { bandKey, ModelBands } from "../../lib/hls/lpdaac.keys.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getBytes, getJson, ref } from "../../lib/storage/s3.objects.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { connectWorker } from "../../lib/temporal/worker.connection.ts";
import { planWorld } from "../../scripts/synth/world.plan.ts";
import { createCpuWorker, createInferenceWorker } from "../../workers/worker.factory.ts";
import { configEnv, spawnWorker } from "../support/child.worker.ts";
import { riRunInput } from "../support/ri.run.ts";
import { testBundle } from "../support/test.bundle.ts";
import { testConfig } from "../support/test.config.ts";
import { writeTestWorld } from "../support/test.world.ts";

const config = testConfig("run");
const s3 = createS3Client(config);
const RiTiles = ["18TYL", "18TYM", "19TBF", "19TBG", "19TCF", "19TCG"];
/** Half the state, over both UTM zones: what the failure cases run (the clean run maps all six). */
const HalfTiles = ["18TYM", "19TBF", "19TCG"];
let connection: NativeConnection;
let client: Client;

/** The same storage, other task queues: workers of one test never take another test's tasks. */
function withQueues(name: string): Config {
  return {
    ...config,
    taskQueues: {
      cpu: `${config.taskQueues.cpu}-${name}`,
      inference: `${config.taskQueues.inference}-${name}`,
    },
  };
}

function runInput(runId: string, queues: Config, extra: Partial<RunInput> = {}): RunInput {
  return riRunInput(runId, queues, { maxTilesInFlight: 3, retryDelaySeconds: 1, ...extra });
}

/** Both pools in this process, for the length of `work`. */
async function withWorkers<T>(queues: Config, work: () => Promise<T>): Promise<T> {
  const bundle = testBundle();
  const workers: Worker[] = [
    await createCpuWorker({ connection, config: queues, s3, bundle }),
    await createInferenceWorker({ connection, config: queues, s3 }),
  ];
  const [first, second] = workers as [Worker, Worker];
  return first.runUntil(second.runUntil(work()));
}

const bin = join(import.meta.dirname, "..", "..", "bin", "crop-map.js");

/** Last-modified times of the objects under an output prefix, by key relative to it. */
async function modifiedTimes(prefix: string): Promise<Map<string, number | undefined>> {
  const full = `${config.storage.outputs.prefix}${prefix}`;
  const listed = await s3.send(
    new ListObjectsV2Command({ Bucket: config.storage.outputs.bucket, Prefix: full }),
  );
  return new Map(
    (listed.Contents ?? []).map((o) => [o.Key?.slice(full.length) ?? "", o.LastModified?.getTime()]),
  );
}

async function tileMap(prefix: string, tileId: string): Promise<Buffer> {
  return Buffer.from(await getBytes(s3, ref(config.storage.outputs, `${prefix}tiles/${tileId}/classes.tif`)));
}

beforeAll(async () => {
  await writeTestWorld(
    planWorld({ state: "RI", year: 2022, scale: "small", seed: 4, season: { start: "04-01", end: "10-31" } }),
    { s3, config },
  );
  connection = await connectWorker(config);
  client = await connectClient(config);
});
afterAll(async () => {
  await client?.connection.close();
  await connection?.close();
  s3.destroy();
});

describe("state-wide runs", () => {
  it("maps every tile of a state, answers status queries and records the outcomes", async () => {
    const queues = withQueues("clean");
    const [summary, status] = await withWorkers(queues, async () => {
      const result = (await client.workflow.execute("runWorkflow", {
        taskQueue: queues.taskQueues.cpu,
        workflowId: "run-clean",
        args: [runInput("run-clean", queues)],
      })) as RunSummary;
      return [result, await client.workflow.getHandle("run-clean").query<RunStatus>("status")] as const;
    });
    expect(summary).toMatchObject({ total: 6, done: 6, failed: [], region: "Rhode Island (RI)", year: 2022 });
    expect(status.phase).toBe("finished");
    expect(status.tiles.map((t) => [t.tileId, t.state, t.attempts])).toEqual(
      RiTiles.map((t) => [t, "done", 1]),
    );
    const csv = Buffer.from(
      await getBytes(s3, ref(config.storage.outputs, "runs/run-clean/tiles.csv")),
    ).toString();
    expect(csv.trim().split("\n")).toEqual([
      "tile,state,attempts,reason",
      ...RiTiles.map((t) => `${t},done,1,`),
    ]);
  });

  it("rebuilds a finished run's report with crop-map report, reusing its finished mosaic", async () => {
    const queues = withQueues("clean");
    const rollups = ref(config.storage.outputs, "runs/run-clean/rollups.json");
    const before = (await getJson(s3, rollups)) as { digest: string; seconds: number };
    const env = { ...process.env, ...configEnv(queues) };
    const { stdout } = await withWorkers(queues, () =>
      promisify(execFile)("node", [bin, "report", "run-clean", "--json"], { env }),
    );
    const report = JSON.parse(stdout);
    expect(report.mosaic).toMatch(/runs\/run-clean\/map\.tif$/);
    expect(report.aAcc).toBeGreaterThan(0.8);
    // The state's part found its own finished output (same digest) and was not mosaicked again.
    expect(await getJson(s3, rollups)).toEqual(before);
  });

  it("finishes a run whose worker was killed mid-way, with maps byte-identical to a clean run's", async () => {
    const queues = withQueues("killed");
    const slow = spawnWorker("all", queues, {}, { rowDelayMs: 400 });
    const handle = await client.workflow.start("runWorkflow", {
      taskQueue: queues.taskQueues.cpu,
      workflowId: "run-killed",
      args: [
        runInput("run-killed", queues, {
          tiles: HalfTiles,
          inferenceHeartbeatSeconds: 3,
          cpuHeartbeatSeconds: 5,
        }),
      ],
    });
    let status: RunStatus | undefined;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      status = await handle.query<RunStatus>("status").catch(() => undefined);
      if (status?.tiles.some((t) => t.state === "done")) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(
      status?.tiles.some((t) => t.state === "done"),
      slow.output(),
    ).toBe(true);
    expect(status?.tiles.every((t) => t.state === "done")).toBe(false);
    await slow.kill();
    const restarted = spawnWorker("all", queues);
    try {
      const summary = (await handle.result()) as RunSummary;
      expect(summary).toMatchObject({ total: 3, done: 3, failed: [] });
    } finally {
      await restarted.kill();
    }
    for (const tileId of HalfTiles) {
      expect(
        (await tileMap("runs/run-killed/", tileId)).equals(await tileMap("runs/run-clean/", tileId)),
        tileId,
      ).toBe(true);
    }
  });

  it("starts a run from a schedule when it is triggered", async () => {
    const queues = withQueues("scheduled");
    const scheduleId = "RI-test-schedule";
    const input = runInput("", queues, { tiles: ["19TCG"] });
    delete (input as { runId?: string }).runId;
    const schedule = await client.schedule.create({
      scheduleId,
      spec: { calendars: [{ month: "FEBRUARY", dayOfMonth: 1, hour: 6 }] },
      action: {
        type: "startWorkflow",
        workflowType: "runWorkflow",
        taskQueue: queues.taskQueues.cpu,
        workflowId: scheduleId,
        args: [input],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
    try {
      expect((await schedule.describe()).info.nextActionTimes[0]?.getUTCMonth()).toBe(1);
      await schedule.trigger();
      let workflowId: string | undefined;
      for (let i = 0; i < 100 && !workflowId; i++) {
        workflowId = (await schedule.describe()).info.recentActions[0]?.action.workflow.workflowId;
        if (!workflowId) await new Promise((r) => setTimeout(r, 200));
      }
      expect(workflowId).toMatch(new RegExp(`^${scheduleId}-`));
      const summary = (await withWorkers(queues, () =>
        client.workflow.getHandle(workflowId as string).result(),
      )) as RunSummary;
      expect(summary).toMatchObject({ total: 1, done: 1 });
      expect(summary.runId).toBe((workflowId as string).replace(/[^A-Za-z0-9._-]/g, "-"));
    } finally {
      await schedule.delete();
    }
  });

  it("finishes with the corrupt tile failed and named, the others done, after retrying it", async () => {
    // Its own work folder: staged stacks are cached by granule, and this test changes a granule.
    const shared = withQueues("corrupt");
    const queues: Config = {
      ...shared,
      storage: {
        ...shared.storage,
        work: { ...shared.storage.work, prefix: `${shared.storage.work.prefix}corrupt/` },
      },
    };
    const selection = await createGranuleActivities(s3, config).selectGranules({
      tileId: "19TBF",
      year: 2022,
      windows: DefaultSeasonWindows,
    });
    const id = parseGranuleId(selection.granules[1]?.id as string);
    const nir = ModelBands[id.product][3];
    const key = `${config.storage.hls.prefix}${bandKey(id, nir)}`;
    const original = await getBytes(s3, { bucket: config.storage.hls.bucket, key });
    await s3.send(
      new PutObjectCommand({ Bucket: config.storage.hls.bucket, Key: key, Body: Buffer.from("not a tiff") }),
    );
    const summary = (await withWorkers(queues, () =>
      client.workflow.execute("runWorkflow", {
        taskQueue: queues.taskQueues.cpu,
        workflowId: "run-corrupt",
        args: [runInput("run-corrupt", queues, { tiles: HalfTiles, retryRounds: 1 })],
      }),
    )) as RunSummary;
    expect(summary.total).toBe(3);
    expect(summary.done).toBe(2);
    expect(summary.failed).toHaveLength(1);
    expect(summary.failed[0]?.tileId).toBe("19TBF");
    expect(summary.failed[0]?.reason).toContain(`${nir}.tif is not a readable COG`);
    const csv = Buffer.from(
      await getBytes(s3, ref(config.storage.outputs, "runs/run-corrupt/tiles.csv")),
    ).toString();
    expect(csv).toMatch(/19TBF,failed,2,/);
    const listed = await s3.send(
      new ListObjectsV2Command({
        Bucket: config.storage.outputs.bucket,
        Prefix: `${config.storage.outputs.prefix}runs/run-corrupt/tiles/19TBF/`,
      }),
    );
    expect((listed.Contents ?? []).map((o) => o.Key?.split("/").pop())).not.toContain("manifest.json");

    // Mend the file and resume: the two finished tiles are checked and kept, only 19TBF is mapped.
    await s3.send(new PutObjectCommand({ Bucket: config.storage.hls.bucket, Key: key, Body: original }));
    const before = await modifiedTimes("runs/run-corrupt/tiles/");
    const worker = spawnWorker("all", queues);
    try {
      const env = { ...process.env, ...configEnv(queues) };
      const { stdout } = await promisify(execFile)(
        "node",
        [bin, "resume", "run-corrupt", "--wait", "--json"],
        { env },
      );
      const [started, resumed] = stdout
        .trim()
        .split("\n{")
        .map((part, i) => JSON.parse(i ? `{${part}` : part));
      expect(started.runId).toMatch(/^run-corrupt\.resume-/);
      expect(resumed).toMatchObject({ total: 3, done: 3, failed: [] });
    } finally {
      await worker.kill();
    }
    const after = await modifiedTimes("runs/run-corrupt/tiles/");
    for (const tileId of HalfTiles.filter((t) => t !== "19TBF")) {
      expect(after.get(`${tileId}/classes.tif`), tileId).toBe(before.get(`${tileId}/classes.tif`));
    }
    expect(after.has("19TBF/manifest.json")).toBe(true);
  });
});

describe("crop-map run input checks", () => {
  it.each([
    [["--state", "Atlantis", "--year", "2022"], "unknown state 'Atlantis'"],
    [["--state", "RI", "--year", "2012"], "--year 2012: HLS v2.0 covers 2013"],
    [["--state", "RI", "--year", "2019"], "no HLS granules for 2019"],
    [["--state", "RI", "--year", "2022", "--model", "no-such-model"], "model 'no-such-model' is not in"],
    [
      ["--state", "RI", "--year", "2022", "--output-prefix", "../escape/"],
      "--output-prefix '../escape/': contains a '.' or '..' segment",
    ],
    [
      ["--state", "RI", "--year", "2022", "--output-prefix", "/abs/"],
      "--output-prefix '/abs/': starts with '/'",
    ],
  ])("exits 2 before any workflow starts for %j", async (args, message) => {
    // Temporal is pointed at a closed port: reaching it would be a different error.
    const env = { ...process.env, ...configEnv(config), CROP_MAP_TEMPORAL_ADDRESS: "127.0.0.1:9" };
    const result = await promisify(execFile)("node", [bin, "run", ...args], { env }).catch((e) => e);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain(message);
  });

  it("refuses to report on a run that has not finished", async () => {
    const queues = withQueues("unfinished");
    // No worker polls this queue: the run stays running.
    await client.workflow.start("runWorkflow", {
      taskQueue: queues.taskQueues.cpu,
      workflowId: "run-unfinished",
      args: [runInput("run-unfinished", queues)],
    });
    const env = { ...process.env, ...configEnv(queues) };
    const result = await promisify(execFile)("node", [bin, "report", "run-unfinished"], { env }).catch(
      (e) => e,
    );
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      "crop-map: run 'run-unfinished' has not finished (status RUNNING); its report comes at its end",
    );
    await client.workflow.getHandle("run-unfinished").terminate();
  });
});
