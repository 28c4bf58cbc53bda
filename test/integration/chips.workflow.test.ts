import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { type Client, WorkflowFailedError } from "@temporalio/client";
import type { NativeConnection } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLabelGrid } from "../../lib/accuracy/label.grid.ts";
import { blockOf } from "../../lib/chips/chip.split.ts";
import {
  type ChipsInput,
  type ChipsSummary,
  DatasetManifestParser,
} from "../../lib/contracts/chips.contract.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getBytes, getJson, ref } from "../../lib/storage/s3.objects.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { rootCause } from "../../lib/temporal/failure.chain.ts";
import { connectWorker } from "../../lib/temporal/worker.connection.ts";
import { planWorld } from "../../scripts/synth/world.plan.ts";
import { createCpuWorker } from "../../workers/worker.factory.ts";
import { configEnv } from "../support/child.worker.ts";
import { cli } from "../support/cli.run.ts";
import { testBundle } from "../support/test.bundle.ts";
import { testConfig } from "../support/test.config.ts";
import { writeTestWorld } from "../support/test.world.ts";

const run = promisify(execFile);
const config = testConfig("chips");
const s3 = createS3Client(config);
/** Two tiles of the demo world that each hold a chip that passes the seed's QA rule. */
const Tiles = ["18TYL", "19TCG"];
let connection: NativeConnection;
let client: Client;

/** A CPU worker in this process for the length of `work`. */
async function withWorker<T>(work: () => Promise<T>): Promise<T> {
  const worker = await createCpuWorker({ connection, config, s3, bundle: testBundle() });
  return worker.runUntil(work());
}

function chips(workflowId: string, input: Partial<ChipsInput> & { name: string }): Promise<ChipsSummary> {
  return withWorker(
    () =>
      client.workflow.execute("chipsWorkflow", {
        taskQueue: config.taskQueues.cpu,
        workflowId,
        args: [{ region: { kind: "state", state: "RI" }, year: 2022, tiles: Tiles, ...input }],
      }) as Promise<ChipsSummary>,
  );
}

/** Keys and last-modified times under a dataset's folder. */
async function objects(name: string): Promise<Map<string, number | undefined>> {
  const prefix = `${config.storage.outputs.prefix}datasets/${name}/`;
  const listed = await s3.send(
    new ListObjectsV2Command({ Bucket: config.storage.outputs.bucket, Prefix: prefix }),
  );
  return new Map(
    (listed.Contents ?? []).map((o) => [o.Key?.slice(prefix.length) ?? "", o.LastModified?.getTime()]),
  );
}

const text = async (key: string) =>
  Buffer.from(await getBytes(s3, ref(config.storage.outputs, key)))
    .toString()
    .split("\n")
    .filter(Boolean);

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

/** gdalinfo's JSON of a dataset file, fetched to a local file. */
async function gdalinfo(key: string) {
  const dir = await mkdtemp(join(tmpdir(), "chips-"));
  const path = join(dir, key.split("/").pop() as string);
  await writeFile(path, await getBytes(s3, ref(config.storage.outputs, key)));
  return JSON.parse((await run("gdalinfo", ["-json", "-stats", path])).stdout);
}

describe("training chips", () => {
  it("makes 224-cell chips GDAL reads, splits that partition them, a manifest; a repeat rewrites nothing", async () => {
    const summary = await chips("chips-ri", { name: "ri" });
    expect(summary.tiles).toEqual(Tiles.map((tileId) => ({ tileId, status: "done" })));
    expect(summary.chips).toBeGreaterThanOrEqual(2);
    const manifest = DatasetManifestParser.parse(
      await getJson(s3, ref(config.storage.outputs, "datasets/ri/dataset.json")),
    );
    expect(manifest.tiles.map((t) => t.granules.length)).toEqual([3, 3]);
    for (const t of manifest.tiles) for (const g of t.granules) expect(g).toMatch(/^HLS\.S30\./);
    const training = await text("datasets/ri/training_data.txt");
    const validation = await text("datasets/ri/validation_data.txt");
    const ids = [...training, ...validation].sort();
    expect(new Set(ids).size).toBe(summary.chips);
    const listed = await objects("ri");
    const chipFiles = [...listed.keys()].filter((k) => k.startsWith("chips/")).sort();
    expect(chipFiles).toEqual(ids.flatMap((id) => [`chips/${id}.mask.tif`, `chips/${id}_merged.tif`]).sort());
    // Every file in the manifest, with its digest.
    expect(manifest.files.map((f) => f.key.replace("datasets/ri/", "")).sort()).toEqual(
      [...chipFiles, "training_data.txt", "validation_data.txt"].sort(),
    );
    expect(manifest.classHistogram.reduce((a, b) => a + b, 0)).toBe(summary.chips * 224 * 224);

    const id = ids[0] as string;
    const [col, row] = id.split("_").slice(1).map(Number) as [number, number];
    const merged = await gdalinfo(`datasets/ri/chips/${id}_merged.tif`);
    expect(merged.size).toEqual([224, 224]);
    expect(merged.bands).toHaveLength(18);
    expect(new Set(merged.bands.map((b: { type: string }) => b.type))).toEqual(new Set(["Int16"]));
    // Clipped: no negative reflectance, the fill included.
    for (const b of merged.bands) expect(Number(b.minimum)).toBeGreaterThanOrEqual(0);
    expect(merged.coordinateSystem.wkt).toContain("Albers");
    const [ox, oy] = [merged.geoTransform[0], merged.geoTransform[3]];
    expect(merged.geoTransform).toEqual([ox, 30, 0, oy, 0, -30]);
    // On the chip grid: cells of 224 CDL pixels counted from the CDL raster's own origin.
    const labels = await readLabelGrid(s3, config.storage.cdl, 2022);
    expect([(ox - labels.origin[0]) / (224 * 30), (labels.origin[1] - oy) / (224 * 30)]).toEqual([col, row]);
    const mask = await gdalinfo(`datasets/ri/chips/${id}.mask.tif`);
    expect(mask.bands).toHaveLength(1);
    expect(mask.bands[0].type).toBe("Byte");
    expect(mask.bands[0].colorInterpretation).toBe("Palette");
    expect(mask.bands[0].colorTable.count).toBe(256);
    expect(mask.geoTransform).toEqual(merged.geoTransform);
    expect(Number(mask.bands[0].maximum)).toBeLessThanOrEqual(13);
    const origin = (await gdalinfo(`datasets/ri/chips/${ids[1]}_merged.tif`)).geoTransform;
    const [col1, row1] = (ids[1] as string).split("_").slice(1).map(Number) as [number, number];
    expect([(origin[0] - ox) / (224 * 30), (oy - origin[3]) / (224 * 30)]).toEqual([col1 - col, row1 - row]);

    // Same workflow id and name again: every tile finds its manifest, nothing is written.
    const again = await chips("chips-ri", { name: "ri" });
    expect(again).toEqual(summary);
    expect(await objects("ri")).toEqual(listed);
  }, 90_000);

  it("splits by blocks of chips, each block whole on one side, and caps the dataset by seed", async () => {
    const blockChips = 3;
    // As a person starts it: `crop-map chips ... --wait --json` prints the summary with "chips".
    const args = [
      "chips",
      "--state",
      "RI",
      "--year",
      "2022",
      "--tiles",
      Tiles.join(","),
      "--chip-cells",
      "32",
    ];
    const out = await withWorker(() =>
      cli(
        [...args, "--name", "ri-blocks", "--split", "blocks", "--block-chips", "3", "--wait", "--json"],
        configEnv(config),
      ),
    );
    expect(out.code, out.stderr).toBe(0);
    const summary = JSON.parse(out.stdout) as ChipsSummary & { workflowId: string };
    expect(summary.workflowId).toBe("chips-ri-blocks");
    expect(summary.chips).toBeGreaterThan(30);
    const training = await text("datasets/ri-blocks/training_data.txt");
    const validation = await text("datasets/ri-blocks/validation_data.txt");
    expect(validation.length).toBeGreaterThanOrEqual(Math.ceil(0.2 * summary.chips));
    expect(training.length + validation.length).toBe(summary.chips);
    const blocks = (ids: string[]) =>
      new Set(
        ids.map((id) => {
          const [col, row] = id.split("_").slice(1).map(Number) as [number, number];
          return blockOf({ col, row }, blockChips);
        }),
      );
    const held = blocks(validation);
    expect([...blocks(training)].filter((b) => held.has(b))).toEqual([]);

    const capped = await chips("chips-ri-cap", { name: "ri-cap", chipCells: 32, maxChips: 10 });
    expect(capped.chips).toBe(10);
    const files = [...(await objects("ri-cap")).keys()].filter((k) => k.startsWith("chips/"));
    expect(files).toHaveLength(20);
    const manifest = DatasetManifestParser.parse(
      await getJson(s3, ref(config.storage.outputs, "datasets/ri-cap/dataset.json")),
    );
    expect(manifest.capped).toBe(summary.chips - 10);
    // A larger cap cannot bring back the removed chips: refused, naming the dataset.
    const larger = await chips("chips-ri-cap", { name: "ri-cap", chipCells: 32, maxChips: 20 }).catch(
      (e) => e,
    );
    expect(larger).toBeInstanceOf(WorkflowFailedError);
    expect(String(larger.cause?.cause?.message)).toMatch(/datasets\/ri-cap\/ was capped to 10 chips/);
  }, 90_000);

  it("refuses bad input for good, naming the field", async () => {
    const failed = await chips("chips-bad", { name: "no spaces" }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    expect(String((failed as WorkflowFailedError).cause?.message)).toMatch(/^chips: name/);
    // A season with no scene: refused naming the region, the year and each tile's reason.
    const none = await chips("chips-none", {
      name: "none",
      scenes: { season: { start: "01-01", end: "01-31" } },
    }).catch((error: unknown) => error);
    expect(none).toBeInstanceOf(WorkflowFailedError);
    const why = rootCause(none);
    expect(why.type).toBe("BadInput");
    expect(why.message).toMatch(/^Rhode Island \(RI\) 2022 gives no training chip: 18TYL: .*; 19TCG: /);
    expect([...(await objects("none")).keys()]).not.toContain("dataset.json");
  }, 60_000);
});
