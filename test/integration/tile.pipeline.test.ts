import { createHash } from "node:crypto";
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import type { Client } from "@temporalio/client";
import { WorkflowFailedError } from "@temporalio/client";
import type { NativeConnection } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGranuleActivities } from "../../activities/granules.activities.ts";
import { accumulate, emptyConfusion, metrics } from "../../lib/accuracy/confusion.ts";
import { labelClassesFor } from "../../lib/accuracy/label.window.ts";
import { DefaultSelectionLimits } from "../../lib/contracts/granule.contract.ts";
import { parseGranuleId } from "../../lib/contracts/granule.id.ts";
import { DefaultSeasonWindows } from "../../lib/contracts/season.windows.ts";
import type { TileManifest, TileWorkflowInput } from "../../lib/contracts/tile.contract.ts";
import { NationalCdlGrid } from "../../lib/grid/crs.ts";
import { bandKey } from "../../lib/hls/lpdaac.keys.ts";
import { loadModelManifest } from "../../lib/model/model.manifest.ts";
import { windowStarts } from "../../lib/pipeline/sliding.window.ts";
import { openCog, readRaster } from "../../lib/raster/cog.reader.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getBytes, getJson, ref } from "../../lib/storage/s3.objects.ts";
import { s3Source } from "../../lib/storage/s3.source.ts";
import { planWorld } from "../../scripts/synth/world.plan.ts";
import { createInferenceWorker } from "../../workers/worker.factory.ts";
import { configEnv, spawnWorker } from "../support/child.worker.ts";
import { cli } from "../support/cli.run.ts";
import { type CpuPool, startCpuPool } from "../support/cpu.pool.ts";
import { testConfig } from "../support/test.config.ts";
import { writeTestWorld } from "../support/test.world.ts";

const config = testConfig("tile");
const s3 = createS3Client(config);
let connection: NativeConnection;
let client: Client;
let pool: CpuPool | undefined;

async function tileInput(
  tileId: string,
  outputPrefix: string,
  extra: Partial<TileWorkflowInput> = {},
): Promise<TileWorkflowInput> {
  return {
    tileId,
    year: 2022,
    model: "crop-tiny",
    windows: DefaultSeasonWindows,
    ...DefaultSelectionLimits,
    chip: (await loadModelManifest("crop-tiny")).chip,
    outputPrefix,
    inferenceQueue: config.taskQueues.inference,
    ...extra,
  };
}

async function runTile(input: TileWorkflowInput, workflowId: string): Promise<TileManifest> {
  return client.workflow.execute("tileWorkflow", {
    taskQueue: config.taskQueues.cpu,
    workflowId,
    args: [input],
  });
}

/** Runs `work` with an in-process inference worker (a worker runs once, so a fresh one each time). */
async function withInference<T>(work: () => Promise<T>): Promise<T> {
  const worker = await createInferenceWorker({ connection, config, s3 });
  return worker.runUntil(work());
}

async function outputBytes(prefix: string, name: string): Promise<Buffer> {
  return Buffer.from(await getBytes(s3, ref(config.storage.outputs, `${prefix}${name}`)));
}

async function listOutputs(prefix: string) {
  const listed = await s3.send(
    new ListObjectsV2Command({
      Bucket: config.storage.outputs.bucket,
      Prefix: `${config.storage.outputs.prefix}${prefix}`,
    }),
  );
  return (listed.Contents ?? []).map((o) => ({
    key: o.Key,
    modified: o.LastModified?.getTime(),
    size: o.Size,
  }));
}

async function accuracyOf(manifest: TileManifest, dx: number, dy = 0) {
  const classes = await readRaster(
    await openCog(
      s3Source(
        s3,
        ref(
          config.storage.outputs,
          manifest.outputs.classes
            .split(`${config.storage.outputs.bucket}/`)[1]
            ?.slice(config.storage.outputs.prefix.length) ?? "",
        ),
      ),
    ),
  );
  const grid = {
    ...classes.geo,
    origin: [classes.geo.origin[0] + dx * 30, classes.geo.origin[1] - dy * 30] as [number, number],
    width: classes.width,
    height: classes.height,
  };
  const labels = await labelClassesFor(s3, [ref(config.storage.cdl, "2022/CDL_2022_44.tif")], grid);
  const confusion = emptyConfusion(13);
  accumulate(confusion, labels, classes.data as Uint8Array);
  return { ...metrics(confusion), classes };
}

beforeAll(async () => {
  await writeTestWorld(
    planWorld({ state: "RI", year: 2022, scale: "small", seed: 3, season: { start: "04-01", end: "10-31" } }),
    { s3, config },
  );
  pool = await startCpuPool(config, s3);
  ({ connection, client } = pool);
});

afterAll(async () => {
  await pool?.stop();
  s3.destroy();
});

describe("tile pipeline on the real servers", () => {
  let clean: TileManifest;

  it("maps a tile end to end, pixel-aligned with the CDL, and a one-pixel shift scores worse", async () => {
    const input = await tileInput("19TCG", "clean/19TCG/");
    clean = await withInference(() => runTile(input, "tile-19TCG-clean"));
    expect(clean.granules).toHaveLength(3);
    expect(clean.granules.map((g) => g.window)).toEqual(DefaultSeasonWindows);
    expect(clean.model).toMatchObject({ name: "crop-tiny", provider: "cpu" });
    expect(clean.windows.run).toBeGreaterThan(0);
    expect((clean.grid.origin[0] - NationalCdlGrid.originX) % 30).toBe(0);
    expect((NationalCdlGrid.originY - clean.grid.origin[1]) % 30).toBe(0);

    const aligned = await accuracyOf(clean, 0);
    expect(aligned.classes.geo.epsg).toBe(5070);
    // The bundled model scores 94 % on single training pixels; in Rhode Island the largest class
    // (forest) is under half the land, so 0.9 is far above any constant answer.
    expect(aligned.aAcc).toBeGreaterThan(0.9);
    // Pixel for pixel: the labels as they are score better than the labels moved one pixel any
    // way, so a map misregistered by a pixel in either axis fails here (checked by mutating the warp).
    for (const [dx, dy] of [
      [1, 0],
      [-1, 0],
      [0, 1],
      [0, -1],
    ] as const) {
      const shifted = await accuracyOf(clean, dx, dy);
      // aAcc, not mIoU: a few-pixel class's IoU moves more with a shift than the map's accuracy does.
      expect(aligned.aAcc - shifted.aAcc, `shift ${dx},${dy}`).toBeGreaterThan(0.005);
    }
  });

  it("writes nothing new when the same tile runs again, and another run gives byte-identical maps", async () => {
    const before = await listOutputs("clean/19TCG/");
    const input = await tileInput("19TCG", "clean/19TCG/");
    const again = await withInference(() => runTile(input, "tile-19TCG-again"));
    expect(again).toEqual(clean);
    expect(await listOutputs("clean/19TCG/")).toEqual(before);

    const second = await tileInput("19TCG", "second/19TCG/");
    const other = await withInference(() => runTile(second, "tile-19TCG-second"));
    for (const name of ["classes.tif", "confidence.tif"]) {
      expect(
        (await outputBytes("second/19TCG/", name)).equals(await outputBytes("clean/19TCG/", name)),
        name,
      ).toBe(true);
    }
    // The maps' checksums, recorded as they were written, are those of the objects in the bucket.
    for (const [name, key] of [
      ["classes.tif", "classes"],
      ["confidence.tif", "confidence"],
    ] as const) {
      const bytes = await outputBytes("second/19TCG/", name);
      expect(other.files?.[key]).toEqual({
        sha256: createHash("sha256").update(bytes).digest("hex"),
        bytes: bytes.length,
      });
    }
    expect(other.granules).toEqual(clean.granules);
  });

  it("maps it with blended tiling from the command line: fewer windows, its own folder, the tiling recorded", async () => {
    // The staged stack is the clean run's (staging does not depend on the tiling): only inference runs.
    const args = ["tile", "--tile", "19TCG", "--year", "2022", "--tiling", "blended", "--json", "--wait"];
    const { code, stdout, stderr } = await withInference(() =>
      cli([...args, "--output-prefix", "blended/19TCG/"], configEnv(config)),
    );
    expect(code, stderr).toBe(0);
    const [started, figures] = stdout
      .trim()
      .split("\n{")
      .map((text, i) => JSON.parse(i === 0 ? text : `{${text}`));
    expect(started.workflowId).toBe("tile-2022-19TCG-crop-tiny-blended-224-192-8@blended/19TCG/");
    const tiling = { kind: "blended", size: 224, stride: 192, border: 8 };
    const { width, height } = clean.grid;
    expect(figures).toMatchObject({ tileId: "19TCG", tiling, mapped: clean.pixels.mapped });
    expect(figures.windows).toBe(
      windowStarts(width, 224, 192).length * windowStarts(height, 224, 192).length,
    );
    expect(figures.windows).toBeLessThan(clean.windows.total);
    const manifest = (await getJson(
      s3,
      ref(config.storage.outputs, "blended/19TCG/manifest.json"),
    )) as TileManifest;
    expect(manifest.tiling).toEqual(tiling);
    // The same model on the same pixels: the blended map agrees with the slide's almost everywhere.
    const blendedMap = await accuracyOf(manifest, 0);
    const slideMap = await accuracyOf(clean, 0);
    const a = blendedMap.classes.data as Uint8Array;
    const b = slideMap.classes.data as Uint8Array;
    expect(a.filter((v, i) => v !== b[i]).length / a.length).toBeLessThan(0.01);
    expect(Math.abs(blendedMap.aAcc - slideMap.aAcc)).toBeLessThan(0.01);
  });

  it("resumes a tile after its inference worker is killed mid-way, with output equal to a clean run's", async () => {
    const slow = spawnWorker(
      "inference",
      config,
      { CROP_MAP_INFERENCE_CHECKPOINT_ROWS: "1", CROP_MAP_INFERENCE_BATCH: "2" },
      { rowDelayMs: 700 },
    );
    const input = await tileInput("19TCG", "killed/19TCG/", { inferenceHeartbeatSeconds: 3 });
    const handle = await client.workflow.start("tileWorkflow", {
      taskQueue: config.taskQueues.cpu,
      workflowId: "tile-19TCG-killed",
      args: [input],
    });
    // Wait for a checkpoint to land, then kill the worker as a crashed host would die.
    const deadline = Date.now() + 90_000;
    let checkpointed = false;
    while (!checkpointed && Date.now() < deadline) {
      const work = await s3.send(
        new ListObjectsV2Command({ Bucket: config.storage.work.bucket, Prefix: config.storage.work.prefix }),
      );
      checkpointed = (work.Contents ?? []).some((o) => o.Key?.endsWith(".checkpoint"));
      if (!checkpointed) await new Promise((r) => setTimeout(r, 200));
    }
    expect(checkpointed, slow.output()).toBe(true);
    await slow.kill();

    const restarted = spawnWorker("inference", config);
    try {
      const resumed = (await handle.result()) as TileManifest;
      const summary = (await getJson(s3, ref(config.storage.outputs, "killed/19TCG/predict.json"))) as {
        resumedFromRow: number;
      };
      expect(summary.resumedFromRow).toBeGreaterThan(0);
      for (const name of ["classes.tif", "confidence.tif"]) {
        expect(
          (await outputBytes("killed/19TCG/", name)).equals(await outputBytes("clean/19TCG/", name)),
          name,
        ).toBe(true);
      }
      expect(resumed.windows).toEqual(clean.windows);
    } finally {
      await restarted.kill();
    }
  });
});

describe("tile pipeline bad input", () => {
  async function expectNonRetryableFailure(input: TileWorkflowInput, workflowId: string, message: string) {
    const error = await withInference(() =>
      runTile(input, workflowId).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause?.cause as
      | { message?: string; nonRetryable?: boolean }
      | undefined;
    expect(cause?.message).toContain(message);
    expect(cause?.nonRetryable).toBe(true);
    // Failed once, not retried, and nothing looks finished.
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    expect(history.events?.filter((e) => e.activityTaskFailedEventAttributes)).toHaveLength(1);
    expect(
      await getJson(s3, ref(config.storage.outputs, `${input.outputPrefix}manifest.json`)),
    ).toBeUndefined();
  }

  async function chosenGranule(tileId: string): Promise<string> {
    const selection = await createGranuleActivities(s3, config).selectGranules({
      tileId,
      year: 2022,
      windows: DefaultSeasonWindows,
    });
    return selection.granules[0]?.id as string;
  }

  it("fails a tile whose chosen granule lacks a band, naming the file, while another tile succeeds", async () => {
    const id = parseGranuleId(await chosenGranule("19TCF"));
    const key = bandKey(id, "B04");
    await s3.send(
      new DeleteObjectCommand({
        Bucket: config.storage.hls.bucket,
        Key: `${config.storage.hls.prefix}${key}`,
      }),
    );
    const [brokenInput, fineInput] = [
      await tileInput("19TCF", "bad/19TCF/"),
      await tileInput("19TBG", "bad/19TBG/"),
    ];
    const [broken, fine] = await withInference(() =>
      Promise.allSettled([runTile(brokenInput, "tile-19TCF-missing"), runTile(fineInput, "tile-19TBG-fine")]),
    );
    expect(broken.status).toBe("rejected");
    expect(String((broken as PromiseRejectedResult).reason?.cause?.cause?.message)).toContain(
      `band B04 is missing`,
    );
    expect(fine.status).toBe("fulfilled");
    expect(await getJson(s3, ref(config.storage.outputs, "bad/19TCF/manifest.json"))).toBeUndefined();
  });

  it("fails a tile with a corrupt COG, naming it", async () => {
    const id = parseGranuleId(await chosenGranule("18TYM"));
    const key = `${config.storage.hls.prefix}${bandKey(id, "B02")}`;
    await s3.send(
      new PutObjectCommand({
        Bucket: config.storage.hls.bucket,
        Key: key,
        Body: Buffer.from("II*\0 this is not a tiff at all"),
      }),
    );
    // geotiff.js takes the garbage for a TIFF without keys: either way the file is named, once.
    await expectNonRetryableFailure(
      await tileInput("18TYM", "bad/18TYM/"),
      "tile-18TYM-corrupt",
      `s3://${config.storage.hls.bucket}/${key}: `,
    );
  });

  it("fails a tile whose band is in a CRS the pipeline does not handle once, naming the keys", async () => {
    const id = parseGranuleId(await chosenGranule("19TBF"));
    const key = `${config.storage.hls.prefix}${bandKey(id, "B8A")}`;
    const band = await readRaster(await openCog(s3Source(s3, { bucket: config.storage.hls.bucket, key })));
    const mercator = await encodeCog({ ...band, geo: { ...band.geo, epsg: 3857 } });
    await s3.send(new PutObjectCommand({ Bucket: config.storage.hls.bucket, Key: key, Body: mercator }));
    await expectNonRetryableFailure(
      await tileInput("19TBF", "bad/19TBF-crs/"),
      "tile-19TBF-crs",
      `s3://${config.storage.hls.bucket}/${key}: EPSG:3857 is not a supported CRS (GTModelTypeGeoKey=1`,
    );
  });

  it("fails a tile with no usable granule in a window", async () => {
    const input = await tileInput("19TBF", "bad/19TBF/", { windows: [{ start: "11-15", end: "12-15" }] });
    await expectNonRetryableFailure(
      input,
      "tile-19TBF-empty",
      "tile 19TBF 2022 has no usable granule in 11-15..12-15: no granule",
    );
  });
});
