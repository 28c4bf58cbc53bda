import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DeleteObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { Client } from "@temporalio/client";
import type { NativeConnection, Worker } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChipsSummary } from "../../lib/contracts/chips.contract.ts";
import type { PredictedTile } from "../../lib/contracts/predict.contract.ts";
import type { TileManifest } from "../../lib/contracts/tile.contract.ts";
import type { TrainInput } from "../../lib/contracts/train.contract.ts";
import type { S3Location } from "../../lib/core/s3.url.ts";
import { ExportDir, ensureExportEnv } from "../../lib/model/export.env.ts";
import { ModelManifestParser, registeredManifestKey } from "../../lib/model/model.manifest.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getBytes, getJson, putBytes, ref } from "../../lib/storage/s3.objects.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { connectWorker } from "../../lib/temporal/worker.connection.ts";
import { planWorld } from "../../scripts/synth/world.plan.ts";
import { createCpuWorker, createInferenceWorker } from "../../workers/worker.factory.ts";
import { configEnv } from "../support/child.worker.ts";
import { cli } from "../support/cli.run.ts";
import { decodeOwnPng } from "../support/png.decode.ts";
import { testBundle } from "../support/test.bundle.ts";
import { testConfig } from "../support/test.config.ts";
import { writeTestWorld } from "../support/test.world.ts";
import { tileWithModel } from "../support/tile.input.ts";

const config = testConfig("train");
const s3 = createS3Client(config);
const env = configEnv(config);
/** 32-cell chips of one demo tile: dozens of chips, and a reduced model of 32 px windows trains in seconds. */
const ChipCells = 32;
let connection: NativeConnection;
let client: Client;
let workers: Worker[] = [];
let running: Promise<unknown>[] = [];
/** Stand-ins for Prithvi_100M.pt (a reduced encoder's keys, the MAE decoder's and the mask token), whole and broken. */
let backbones: string;

async function writeBackbones(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "backbone-"));
  const python = await ensureExportEnv();
  const script = (file: string, drop: string) =>
    [
      "import sys, torch",
      `sys.path.insert(0, ${JSON.stringify(ExportDir)})`,
      "from prithvi_export import PrithviCrop, arch_for",
      `s = dict(PrithviCrop(arch_for("reduced", 224)).backbone.state_dict())`,
      `s["mask_token"] = torch.zeros(1, 1, 48); s["decoder_embed.weight"] = torch.zeros(512, 48)`,
      drop ? `s.pop(${JSON.stringify(drop)})` : "",
      `torch.save(s, ${JSON.stringify(join(dir, file))})`,
    ].join("\n");
  await promisify(execFile)(python, ["-c", script("backbone.pt", "")]);
  await promisify(execFile)(python, ["-c", script("broken.pt", "blocks.1.mlp.fc2.weight")]);
  // A Prithvi_EO_V2_300M.pt stand-in: a reduced encoder and MAE decoder, every key the public code's.
  const eo2 = [
    "import sys, torch",
    `sys.path.insert(0, ${JSON.stringify(ExportDir)})`,
    "from prithvi_eo2_model import PrithviEO2Crop, arch_for, randomize, synthetic_backbone",
    `m = PrithviEO2Crop(arch_for("prithvi-eo2-300m", "reduced", ${ChipCells})); randomize(m, 3)`,
    `torch.save(synthetic_backbone(m, 3), ${JSON.stringify(join(dir, "eo2-backbone.pt"))})`,
  ].join("\n");
  await promisify(execFile)(python, ["-c", eo2]);
  return dir;
}

const trainArgs = (
  name: string,
  extra: string[] = [],
  model = "prithvi-crop-100m",
  backbone = "backbone.pt",
) => [
  ...["train", "--model", model, "--variant", "reduced", "--dataset", "ri-train"],
  ...["--backbone", join(backbones, backbone)],
  ...["--name", name, "--epochs", "3", "--eval-every", "1", "--warmup-iters", "4", "--lr", "2e-3"],
  ...["--batch", "4", "--wait", "--json", ...extra],
];

/** Keys and last-modified times of the objects under `prefix` in a location. */
async function listed(location: S3Location, prefix: string): Promise<Map<string, number | undefined>> {
  const full = `${location.prefix}${prefix}`;
  const page = await s3.send(new ListObjectsV2Command({ Bucket: location.bucket, Prefix: full }));
  return new Map(
    (page.Contents ?? []).map((o) => [o.Key?.slice(full.length) ?? "", o.LastModified?.getTime()]),
  );
}

/** Until `probe` answers something truthy (every 100 ms), or fails naming `what`. */
async function until<T>(what: string, probe: () => Promise<T>, ms = 120_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The trainer process the in-process worker started, if one runs. */
async function trainerPid(): Promise<number | undefined> {
  const found = await promisify(execFile)("pgrep", [
    "-P",
    String(process.pid),
    "-f",
    "prithvi_train.py",
  ]).catch(() => ({ stdout: "" }));
  const pid = Number(found.stdout.trim().split("\n")[0]);
  return pid > 0 ? pid : undefined;
}

/** Whether a model's training has stored its first checkpoint (the trainer is past its first epoch). */
const checkpointed = async (name: string) =>
  [...(await listed(config.storage.work, `training/${name}/`)).keys()].some((k) => k.endsWith("/last.pt"));

const trainingJson = async (name: string) =>
  JSON.parse(
    Buffer.from(await getBytes(s3, ref(config.storage.outputs, `models/${name}/training.json`))).toString(),
  );

/** The last JSON object a command printed (`--wait --json` prints the start, then the result). */
const lastJson = (stdout: string) => JSON.parse(`{${stdout.trim().split("\n{").at(-1)?.replace(/^\{/, "")}`);

beforeAll(async () => {
  await writeTestWorld(
    planWorld({ state: "RI", year: 2022, scale: "small", seed: 4, season: { start: "04-01", end: "10-31" } }),
    { s3, config },
  );
  backbones = await writeBackbones();
  connection = await connectWorker(config);
  client = await connectClient(config);
  workers = [
    await createCpuWorker({ connection, config, s3, bundle: testBundle() }),
    await createInferenceWorker({ connection, config, s3 }),
  ];
  running = workers.map((w) => w.run());
  const summary = (await client.workflow.execute("chipsWorkflow", {
    taskQueue: config.taskQueues.cpu,
    workflowId: "chips-ri-train",
    args: [
      {
        name: "ri-train",
        region: { kind: "state", state: "RI" },
        year: 2022,
        tiles: ["19TCG"],
        chipCells: ChipCells,
        maxChips: 24,
      },
    ],
  })) as ChipsSummary;
  expect(summary.chips).toBe(24);
}, 600_000);

afterAll(async () => {
  for (const w of workers) w.shutdown();
  await Promise.allSettled(running);
  await client?.connection.close();
  await connection?.close();
  s3.destroy();
});

describe("crop-map train", () => {
  it("fine-tunes a reduced Prithvi from a pretrained encoder on the chips, evaluates it in the seed's metrics and registers it", async () => {
    const result = await cli(trainArgs("ri-tiny"), env);
    expect(result.code, result.stderr).toBe(0);
    const trained = lastJson(result.stdout);
    expect(trained.model).toBe("ri-tiny");
    expect(trained.epochs).toBe(3);
    for (const key of ["aAcc", "mIoU", "mAcc"]) {
      expect(trained[key]).toBeGreaterThan(0);
      expect(trained[key]).toBeLessThanOrEqual(1);
    }

    // The registry: a manifest that parses, naming its ONNX in S3, the dataset and the metrics.
    const manifest = ModelManifestParser.parse(
      await getJson(s3, ref(config.storage.outputs, registeredManifestKey("ri-tiny"))),
    );
    expect(manifest.chip).toEqual({ size: ChipCells, stride: ChipCells / 2 });
    expect(manifest.onnx).toMatch(/^s3:\/\/.*models\/ri-tiny\/ri-tiny\.onnx$/);
    expect(manifest.training?.dataset).toBe("ri-train");
    expect(manifest.training?.metrics.mIoU).toBe(trained.mIoU);

    // One definition of the metrics: the trainer's mIoU (Python, picking the best epoch) is the
    // TypeScript one of the same confusion matrix.
    const report = JSON.parse(
      Buffer.from(await getBytes(s3, ref(config.storage.outputs, "models/ri-tiny/training.json"))).toString(),
    );
    const best = report.history.find((h: { epoch: number }) => h.epoch === trained.bestEpoch);
    expect(best.mIoU).toBeCloseTo(trained.mIoU as number, 12);
    expect(report.history.map((h: { epoch: number }) => h.epoch)).toEqual([1, 2, 3]);
    // The encoder from the stand-in Prithvi_100M.pt, its MAE parts dropped by name.
    expect(report.source).toMatchObject({ kind: "backbone", file: "backbone.pt" });
    expect(report.source.dropped).toEqual(["decoder_embed.weight", "mask_token", "pos_embed"]);
    for (const png of ["loss.png", "miou.png"]) {
      const image = decodeOwnPng(await getBytes(s3, ref(config.storage.outputs, `models/ri-tiny/${png}`)));
      expect([image.width, image.height]).toEqual([640, 320]);
    }
    const html = Buffer.from(
      await getBytes(s3, ref(config.storage.outputs, "models/ri-tiny/report.html")),
    ).toString();
    expect(html).toContain("seed (Prithvi-100M, 80 epochs)");
    expect(html).toContain("Reduced variant");

    // Every worker finds it by name: a tile mapped with it through the real pipeline.
    const tile = (await client.workflow.execute("tileWorkflow", {
      taskQueue: config.taskQueues.cpu,
      workflowId: "tile-ri-tiny",
      args: [tileWithModel(config, { name: "ri-tiny", chip: manifest.chip }, "trained/19TCG/")],
    })) as TileManifest;
    expect(tile.tileId).toBe("19TCG");
    const predicted = (await getJson(
      s3,
      ref(config.storage.outputs, "trained/19TCG/predict.json"),
    )) as PredictedTile;
    expect(predicted.model.sha256).toBe(manifest.sha256);
  }, 600_000);

  it("fine-tunes a reduced Prithvi-EO-2.0 300M from a backbone in the pretrained files' layout, the 100M's steps, and maps a tile with it", async () => {
    const result = await cli(trainArgs("ri-eo2", [], "prithvi-eo2-300m", "eo2-backbone.pt"), env);
    expect(result.code, result.stderr).toBe(0);
    const trained = lastJson(result.stdout);
    expect(trained.epochs).toBe(3);
    const report = await trainingJson("ri-eo2");
    // The encoder from the stand-in, its MAE decoder's 20 keys checked and dropped by name.
    expect(report.source).toMatchObject({ kind: "backbone", file: "eo2-backbone.pt", dropped: 20 });
    const manifest = ModelManifestParser.parse(
      await getJson(s3, ref(config.storage.outputs, registeredManifestKey("ri-eo2"))),
    );
    expect(manifest.description).toContain("prithvi-eo2-300m (reduced) fine-tuned by crop-map train");
    expect(manifest.coords).toBeUndefined();
    // The CPU smoke comparison: both reduced models, the same chips, steps and recipe, class by
    // class (validation IoU at each one's best epoch); it says the path works, not which is better.
    const tiny = ModelManifestParser.parse(
      await getJson(s3, ref(config.storage.outputs, registeredManifestKey("ri-tiny"))),
    );
    expect((await trainingJson("ri-tiny")).history.length).toBe(report.history.length);
    for (const key of ["aAcc", "mIoU", "mAcc"]) expect(trained[key]).toBeGreaterThan(0);
    const iou = (m: typeof manifest, id: number) =>
      m.training?.metrics.perClass.find((c) => c.id === id)?.iou;
    const pct = (v: number | null | undefined) =>
      v === null || v === undefined ? "-" : (100 * v).toFixed(1);
    const rows = manifest.classes.map(
      (c) => `| ${c.name} | ${pct(iou(tiny, c.id))} | ${pct(iou(manifest, c.id))} |`,
    );
    const overall = (["aAcc", "mIoU", "mAcc"] as const).map(
      (k) => `| ${k} | ${pct(tiny.training?.metrics[k])} | ${pct(manifest.training?.metrics[k])} |`,
    );
    console.log(
      [
        "CPU smoke comparison (reduced variants, 3 epochs, 24 chips of 32 cells; not the paper's result)",
        "| validation IoU % | Prithvi-100M reduced | Prithvi-EO-2.0 300M reduced |",
        "| --- | --- | --- |",
        ...rows,
        ...overall,
      ].join("\n"),
    );
    const tile = (await client.workflow.execute("tileWorkflow", {
      taskQueue: config.taskQueues.cpu,
      workflowId: "tile-ri-eo2",
      args: [tileWithModel(config, { name: "ri-eo2", chip: manifest.chip }, "trained-eo2/19TCG/")],
    })) as TileManifest;
    expect(tile.model.sha256).toBe(manifest.sha256);
  }, 600_000);

  it("resumes from its last checkpoint and registers the same model; a repeat finds it", async () => {
    // Registered already: the same input answers with the registered model, no training.
    const again = await cli(trainArgs("ri-tiny"), env);
    expect(again.code, again.stderr).toBe(0);
    const first = lastJson(again.stdout);
    // Without its manifest, the training's last checkpoint (after epoch 3 of 3) is all it needs.
    await s3.send(
      new DeleteObjectCommand({
        Bucket: config.storage.outputs.bucket,
        Key: `${config.storage.outputs.prefix}${registeredManifestKey("ri-tiny")}`,
      }),
    );
    const checkpoints = () => listed(config.storage.work, "training/ri-tiny/");
    const before = await checkpoints();
    const resumed = await cli(trainArgs("ri-tiny"), env);
    expect(resumed.code, resumed.stderr).toBe(0);
    const second = lastJson(resumed.stdout);
    expect({ ...second, manifest: "", onnx: "" }).toEqual({ ...first, manifest: "", onnx: "" });
    // Resumed, not trained again (which gives the same model, deterministically): no epoch ran, so no
    // checkpoint was stored again.
    expect([...before.keys()].some((k) => k.endsWith("/last.pt"))).toBe(true);
    expect(await checkpoints()).toEqual(before);

    // The dataset made again under its name (here: one byte more) is not the one the model learnt from.
    const datasetJson = ref(config.storage.outputs, "datasets/ri-train/dataset.json");
    const original = await getBytes(s3, datasetJson);
    await putBytes(s3, datasetJson, Buffer.concat([original, Buffer.from("\n")]), "application/json");
    try {
      const changed = await cli(trainArgs("ri-tiny"), env);
      expect(changed.code).toBe(2);
      expect(changed.stderr).toMatch(
        /dataset\.json sha256 [0-9a-f]{64}; it now has [0-9a-f]{64}: train under another --name/,
      );
    } finally {
      await putBytes(s3, datasetJson, original, "application/json");
    }
  }, 600_000);

  it("finishes when its trainer is killed mid-epoch: the retry resumes from the checkpoint and trains as an unbroken run", async () => {
    const training = cli(trainArgs("ri-killed"), env);
    await until("first checkpoint", () => checkpointed("ri-killed"));
    const pid = await trainerPid();
    expect(pid, "the trainer finished before it could be killed").toBeDefined();
    process.kill(pid as number, "SIGKILL");
    const result = await training;
    expect(result.code, result.stderr).toBe(0);

    const killed = await trainingJson("ri-killed");
    expect(killed.resumes).toHaveLength(1);
    expect(killed.resumes[0].epoch).toBeGreaterThanOrEqual(1);
    expect(killed.resumes[0].epoch).toBeLessThan(3);
    // The same settings as ri-tiny, trained without a break (its only resume came after its last
    // epoch, in the case above): the same epochs, losses and metrics.
    const unbroken = await trainingJson("ri-tiny");
    const curve = (r: { history: { epoch: number; loss: number; mIoU: number }[] }) =>
      r.history.map((h) => [h.epoch, h.loss, h.mIoU]);
    expect(curve(killed)).toEqual(curve(unbroken));
    expect(killed.metrics).toEqual(unbroken.metrics);
    const html = Buffer.from(
      await getBytes(s3, ref(config.storage.outputs, "models/ri-killed/report.html")),
    ).toString();
    expect(html).toContain(`Resumed from the checkpoint after epoch ${killed.resumes[0].epoch}`);
  }, 600_000);

  it("stops its trainer when the training is cancelled", async () => {
    // Started as the CLI starts it, with a short heartbeat timeout: a cancellation reaches an
    // activity with its next heartbeat's answer, and heartbeats go out at most every 0.8 timeouts.
    const input: TrainInput = {
      ...{ name: "ri-cancel", model: "prithvi-crop-100m", variant: "reduced", dataset: "ri-train" },
      ...{ backbone: join(backbones, "backbone.pt"), epochs: 6, evalEvery: 1, warmupIters: 4, lr: 2e-3 },
      ...{ batch: 4, inferenceQueue: config.taskQueues.inference, heartbeatSeconds: 10 },
    };
    const workflowId = "train-ri-cancel";
    await client.workflow.start("trainWorkflow", {
      taskQueue: config.taskQueues.cpu,
      workflowId,
      args: [input],
    });
    await until("first checkpoint", () => checkpointed("ri-cancel"));
    const pid = await until("trainer", trainerPid);
    await client.workflow.getHandle(workflowId).cancel();
    await expect(client.workflow.getHandle(workflowId).result()).rejects.toThrow(/cancel/i);
    // Gone at its next step, not left training for no one.
    await until(
      "end of the cancelled trainer",
      async () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      30_000,
    );
    const models = await listed(config.storage.outputs, "models/ri-cancel/");
    expect([...models.keys()]).toEqual([]);
  }, 600_000);

  it("refuses a pretrained encoder with a key missing, naming it (exit 2)", async () => {
    const broken = await cli(trainArgs("ri-broken", ["--backbone", join(backbones, "broken.pt")]), env);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain("missing keys (1): blocks.1.mlp.fc2.weight");
  }, 600_000);

  it("refuses bad input in one line, and a missing dataset by name", async () => {
    const zero = await cli(trainArgs("ri-bad", ["--epochs", "0"]), env);
    expect(zero.code).toBe(2);
    expect(zero.stderr.trim().split("\n")).toHaveLength(1);
    expect(zero.stderr).toContain("--epochs '0'");
    const missing = await cli(
      [
        "train",
        "--model",
        "prithvi-crop-100m",
        "--variant",
        "reduced",
        "--dataset",
        "nowhere",
        "--name",
        "x1",
        "--wait",
      ],
      env,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("dataset 'nowhere' not found");
  }, 120_000);
});
