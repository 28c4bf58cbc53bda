import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { Client } from "@temporalio/client";
import type { NativeConnection, WorkflowBundleOption } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGranuleActivities } from "../../activities/granules.activities.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import { DefaultSelectionLimits } from "../../lib/contracts/granule.contract.ts";
import { formatGranuleId, HlsProducts, parseGranuleId } from "../../lib/contracts/granule.id.ts";
import { DefaultSeasonWindows } from "../../lib/contracts/season.windows.ts";
import type { TileManifest } from "../../lib/contracts/tile.contract.ts";
import { bandKey, cmrXmlKey, ModelBands, stacItemKey, tileYearPrefix } from "../../lib/hls/lpdaac.keys.ts";
import { loadModelManifest } from "../../lib/model/model.manifest.ts";
import { openCog } from "../../lib/raster/cog.reader.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getBytes, objectSize, putBytes, ref } from "../../lib/storage/s3.objects.ts";
import { s3Source } from "../../lib/storage/s3.source.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { connectWorker } from "../../lib/temporal/worker.connection.ts";
import { planWorld } from "../../scripts/synth/world.plan.ts";
import { createCpuWorker, createInferenceWorker } from "../../workers/worker.factory.ts";
import { HlsGdalCogOptions } from "../support/gdal.hls.ts";
import { testBundle } from "../support/test.bundle.ts";
import { testConfig } from "../support/test.config.ts";
import { writeTestWorld } from "../support/test.world.ts";

/**
 * The archive as LP DAAC stores the 2020-2022 vintages, written by GDAL rather than by us: band
 * COGs from `gdal_translate -of COG` (DEFLATE, PREDICTOR=2, 256 px blocks, overviews) tagged with
 * user-defined UTM keys, and only `cmr.xml` beside them (no STAC item). A tile mapped from it must
 * be byte-identical to the same tile mapped from our own encoding.
 */
const run = promisify(execFile);
const gdal = run("gdal_translate", ["--version"]).then(
  () => true,
  () => false,
);

const original = testConfig("gdal-orig");
const s3 = createS3Client(original);
/** Same labels; its own archive, work and outputs, so nothing staged from the original is reused. */
const rewritten: Config = (() => {
  const other = testConfig("gdal-copy");
  return { ...other, storage: { ...other.storage, cdl: original.storage.cdl } };
})();

let connection: NativeConnection;
let client: Client;
let bundle: WorkflowBundleOption;
let dir: string;

async function mapTile(config: Config, tileId: string, workflowId: string): Promise<TileManifest> {
  const cpu = await createCpuWorker({ connection, config, s3, bundle });
  const inference = await createInferenceWorker({ connection, config, s3 });
  const work = client.workflow.execute("tileWorkflow", {
    taskQueue: config.taskQueues.cpu,
    workflowId,
    args: [
      {
        tileId,
        year: 2022,
        model: "crop-tiny",
        windows: DefaultSeasonWindows,
        ...DefaultSelectionLimits,
        chip: (await loadModelManifest("crop-tiny")).chip,
        outputPrefix: `tiles/${tileId}/`,
        inferenceQueue: config.taskQueues.inference,
      },
    ],
  }) as Promise<TileManifest>;
  return cpu.runUntil(inference.runUntil(work));
}

/** One band COG through gdal_translate, re-tagged as user-defined UTM (ProjectionGeoKey 160zz). */
async function gdalRewrite(key: string, zone: number): Promise<void> {
  const source = join(dir, "in.tif");
  const target = join(dir, "out.tif");
  await writeFile(source, await getBytes(s3, ref(original.storage.hls, key)));
  await run("gdal_translate", [
    "-q",
    ...HlsGdalCogOptions,
    "-a_srs",
    `+proj=utm +zone=${zone} +ellps=WGS84 +units=m +no_defs`,
    source,
    target,
  ]);
  await putBytes(s3, ref(rewritten.storage.hls, key), await readFile(target), "image/tiff");
}

beforeAll(async () => {
  if (!(await gdal)) return;
  dir = await mkdtemp(join(tmpdir(), "crop-map-gdal-"));
  await writeTestWorld(
    planWorld({ state: "RI", year: 2022, scale: "small", seed: 3, season: { start: "04-01", end: "10-31" } }),
    { s3, config: original },
  );
  connection = await connectWorker(original);
  client = await connectClient(original);
  bundle = testBundle();
});

afterAll(async () => {
  await client?.connection.close();
  await connection?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  s3.destroy();
});

describe("an archive written by GDAL with 2020-2022 keys and only cmr.xml", () => {
  it("maps a tile byte-identically to our own encoding, skipping and counting a broken record", async (context) => {
    if (!(await gdal)) return context.skip();
    const tileId = "19TCG";
    const selection = await createGranuleActivities(s3, original).selectGranules({
      tileId,
      year: 2022,
      windows: DefaultSeasonWindows,
    });
    expect(selection.skipped.count).toBe(0);
    const chosen = selection.granules.map((g) => parseGranuleId(g.id));

    // Every granule of the tile gets its cmr.xml; the chosen ones also their bands, through GDAL.
    const records: string[] = [];
    for (const product of HlsProducts) {
      const listed = await s3.send(
        new ListObjectsV2Command({
          Bucket: original.storage.hls.bucket,
          Prefix: `${original.storage.hls.prefix}${tileYearPrefix(product, tileId, 2022)}`,
        }),
      );
      for (const o of listed.Contents ?? []) {
        const key = (o.Key ?? "").slice(original.storage.hls.prefix.length);
        if (key.endsWith(".cmr.xml")) records.push(key);
      }
    }
    expect(records.length).toBeGreaterThan(selection.granules.length);
    for (const key of records)
      await putBytes(
        s3,
        ref(rewritten.storage.hls, key),
        await getBytes(s3, ref(original.storage.hls, key)),
        "application/xml",
      );
    for (const granule of chosen)
      for (const band of [...ModelBands[granule.product], "Fmask"])
        await gdalRewrite(bandKey(granule, band), 19);

    // A granule whose record does not parse is left out and counted, not a failed tile.
    const unchosen = records
      .map((k) => parseGranuleId(k.split("/")[1] as string))
      .find((g) => !chosen.some((c) => formatGranuleId(c) === formatGranuleId(g)));
    const broken = cmrXmlKey(unchosen as NonNullable<typeof unchosen>);
    await putBytes(
      s3,
      ref(rewritten.storage.hls, broken),
      "<Granule><GranuleUR>oops</Granule>",
      "application/xml",
    );

    // The rewritten files carry what real ones do: user-defined keys, GDAL's tiling, no STAC item.
    const sample = bandKey(chosen[0] as NonNullable<(typeof chosen)[0]>, "B04");
    const image = await openCog(s3Source(s3, ref(rewritten.storage.hls, sample)));
    expect(image.getGeoKeys()).toMatchObject({ ProjectedCSTypeGeoKey: 32767, ProjectionGeoKey: 16019 });
    expect(image.getTileWidth()).toBe(256);
    expect(
      await objectSize(
        s3,
        ref(rewritten.storage.hls, stacItemKey(chosen[0] as NonNullable<(typeof chosen)[0]>)),
      ),
    ).toBeUndefined();

    const ours = await mapTile(original, tileId, "gdal-orig-19TCG");
    const theirs = await mapTile(rewritten, tileId, "gdal-copy-19TCG");
    expect(theirs.granules).toEqual(ours.granules);
    expect(theirs.skipped.count).toBe(1);
    expect(theirs.skipped.granules[0]?.reason).toContain("not well-formed XML");
    expect(theirs.windows).toEqual(ours.windows);
    for (const name of ["classes.tif", "confidence.tif"]) {
      const a = Buffer.from(await getBytes(s3, ref(original.storage.outputs, `tiles/${tileId}/${name}`)));
      const b = Buffer.from(await getBytes(s3, ref(rewritten.storage.outputs, `tiles/${tileId}/${name}`)));
      expect(b.equals(a), name).toBe(true);
    }
  });
});
