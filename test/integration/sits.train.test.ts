import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { Client } from "@temporalio/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChipsSummary } from "../../lib/contracts/chips.contract.ts";
import { type TrainerEvent, TrainerEventParser } from "../../lib/contracts/train.contract.ts";
import { ensureExportEnv, SitsTrainScript } from "../../lib/model/export.env.ts";
import { ModelsDir, registeredManifestKey } from "../../lib/model/model.manifest.ts";
import { loadSeriesManifest, pipelineShape, SeriesManifestParser } from "../../lib/series/series.manifest.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getJson, ref } from "../../lib/storage/s3.objects.ts";
import { writeSeriesFiles } from "../../lib/training/series.files.ts";
import { configEnv } from "../support/child.worker.ts";
import { cli } from "../support/cli.run.ts";
import { type CpuPool, startCpuPool } from "../support/cpu.pool.ts";
import { writeIowaTile } from "../support/series.world.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("sits-train");
const s3 = createS3Client(config);
const env = configEnv(config);
const TileId = "15TVG";
let client: Client;
let pool: CpuPool | undefined;

const trainArgs = (name: string, more: string[] = []) => [
  ...["train", "--model", "sits-former", "--variant", "reduced", "--dataset", "ia-sits", "--name", name],
  ...["--epochs", "2", "--batch", "16", "--lr", "1e-3", "--wait", "--json", ...more],
];

/** The last JSON object a command printed (`--wait --json` prints the start, then the result). */
const lastJson = (stdout: string) => JSON.parse(`{${stdout.trim().split("\n{").at(-1)?.replace(/^\{/, "")}`);

async function keys(location: { bucket: string; prefix: string }, under: string): Promise<string[]> {
  const prefix = `${location.prefix}${under}`;
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: location.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key?.slice(prefix.length) ?? "");
}

beforeAll(async () => {
  await writeIowaTile(s3, config, TileId);
  pool = await startCpuPool(config, s3, { inference: true });
  client = pool.client;
  const summary = (await client.workflow.execute("chipsWorkflow", {
    taskQueue: config.taskQueues.cpu,
    workflowId: "chips-ia-sits",
    args: [
      {
        name: "ia-sits",
        region: { kind: "state", state: "IA" },
        year: 2022,
        tiles: [TileId],
        series: { perClass: 4, evalPerClass: 3, unlabelled: 60, maxDates: 20, blockPixels: 16 },
      },
    ],
  })) as ChipsSummary;
  expect(summary.training).toBeGreaterThan(10);
}, 300_000);

afterAll(async () => {
  await pool?.stop();
  s3.destroy();
});

describe("SITS-Former training (train --model sits-former)", () => {
  it("pretrains on the unlabelled series, fine-tunes, evaluates in the seed's metrics, exports and registers it", async () => {
    const out = await cli(trainArgs("ia-sits-pre", ["--pretrain-epochs", "2"]), env);
    expect(out.code, out.stderr).toBe(0);
    const trained = lastJson(out.stdout);
    expect(trained.epochs).toBe(2);
    for (const m of [trained.metrics, trained.test]) {
      expect(m.aAcc).toBeGreaterThanOrEqual(0);
      expect(m.perClass).toHaveLength(13);
    }
    const manifest = SeriesManifestParser.parse(
      await getJson(s3, ref(config.storage.outputs, registeredManifestKey("ia-sits-pre"))),
    );
    expect(manifest.family).toBe("series");
    expect(manifest.normalization).toEqual({ divideBy: 10000 });
    expect(manifest.architecture?.heads).toBe(4);
    expect(manifest.training?.pretrainEpochs).toBe(2);
    expect(manifest.training?.test).toEqual(trained.test);
    expect(manifest.description).toMatch(/after 2 epochs of masked-prediction pretraining/);
    expect(await keys(config.storage.outputs, "models/ia-sits-pre/")).toContain("ia-sits-pre.onnx");
    const work = await keys(config.storage.work, "training/ia-sits-pre/");
    for (const file of ["last.pt", "best.pt", "encoder.pt"])
      expect(work.some((k) => k.endsWith(`/${file}`))).toBe(true);
    // Runs find it in the registry as a series model: its dates for the tile workflow, its manifest for inference.
    const registry = { s3, location: config.storage.outputs };
    expect(await pipelineShape("ia-sits-pre", ModelsDir, registry)).toMatchObject({
      series: { maxDates: 64 },
    });
    expect(await loadSeriesManifest("ia-sits-pre", ModelsDir, registry)).toEqual(manifest);
    // The same input again: the registered model, no training.
    const again = await cli(trainArgs("ia-sits-pre", ["--pretrain-epochs", "2"]), env);
    expect(again.code, again.stderr).toBe(0);
    expect(lastJson(again.stdout)).toEqual(trained);
  }, 300_000);

  it("resumes across the pretraining and fine-tuning phases as an unbroken run trains", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sits-resume-"));
    const { datasetSha256 } = await writeSeriesFiles(
      s3,
      config.storage.outputs,
      "ia-sits",
      join(dir, "data"),
    );
    const python = await ensureExportEnv();
    const train = async (work: string, epochs: number) => {
      const args = [
        SitsTrainScript,
        "--data",
        join(dir, "data"),
        "--work",
        join(dir, work),
        "--size",
        "reduced",
      ];
      args.push(
        "--pretrain-epochs",
        "2",
        "--epochs",
        String(epochs),
        "--batch",
        "16",
        "--dataset-sha256",
        datasetSha256,
      );
      const { stdout } = await promisify(execFile)(python, args, { maxBuffer: 1 << 26 });
      const events = stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => TrainerEventParser.parse(JSON.parse(l)));
      return events.find((e) => e.event === "done") as Extract<TrainerEvent, { event: "done" }>;
    };
    const unbroken = await train("whole", 3);
    // Stopped after the pretraining and one fine-tuning epoch, then started again for three.
    await train("broken", 1);
    const resumed = await train("broken", 3);
    expect(resumed.resumes).toEqual([{ epoch: 1, iteration: 2 }]);
    const losses = (d: typeof unbroken) => [
      d.history.map((h) => h.loss),
      (d.pretraining as { loss: number }[]).map((h) => h.loss),
    ];
    expect(losses(resumed)).toEqual(losses(unbroken));
    expect(resumed.best).toEqual(unbroken.best);
  }, 300_000);

  it("refuses, in one line, pretraining for Prithvi and --init for sits-former", async () => {
    const prithvi = await cli(
      [
        "train",
        "--model",
        "prithvi-crop-100m",
        "--dataset",
        "ia-sits",
        "--name",
        "x",
        "--pretrain-epochs",
        "3",
      ],
      env,
    );
    expect(prithvi.code).toBe(2);
    expect(prithvi.stderr.trim()).toMatch(/pretrainEpochs.*sits-former's/);
    const init = await cli(trainArgs("x2", ["--init", "/tmp/a.pth"]), env);
    expect(init.code).toBe(2);
    expect(init.stderr.trim().split("\n")).toHaveLength(1);
    expect(init.stderr).toMatch(/init.*--backbone/);
  }, 60_000);
});
