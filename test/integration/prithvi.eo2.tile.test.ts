import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@temporalio/client";
import { MockActivityEnvironment } from "@temporalio/testing";
import type { NativeConnection } from "@temporalio/worker";
import proj4 from "proj4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPredictActivities } from "../../activities/predict.activities.ts";
import type { TileManifest } from "../../lib/contracts/tile.contract.ts";
import { exportModel } from "../../lib/model/model.export.ts";
import { loadModelManifest, type ModelManifest } from "../../lib/model/model.manifest.ts";
import { loadModel, runBatch } from "../../lib/model/model.session.ts";
import { readStackHeader } from "../../lib/pipeline/stack.reader.ts";
import { openCog, readRaster } from "../../lib/raster/cog.reader.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { ref } from "../../lib/storage/s3.objects.ts";
import { s3Source } from "../../lib/storage/s3.source.ts";
import { planWorld } from "../../scripts/synth/world.plan.ts";
import { createInferenceWorker } from "../../workers/worker.factory.ts";
import { type CpuPool, startCpuPool } from "../support/cpu.pool.ts";
import { recomputedAgreement, stagedStack } from "../support/slide.recompute.ts";
import { testConfig } from "../support/test.config.ts";
import { writeTestWorld } from "../support/test.world.ts";
import { tileWithModel } from "../support/tile.input.ts";

// A Prithvi-EO-2.0 TL model (reduced, 64 px windows, seeded random weights) mapping a tile through
// the real pipeline: each batch fed its windows' dates and centres, checked against a map
// recomputed here with the conventions written out independently (1-based day of year from the
// granule ids, (latitude, longitude) of each window's centre pixel by proj4 from the CDL grid).
const config = testConfig("prithvi-eo2-tile");
const s3 = createS3Client(config);
const quiet = () => {};
const Albers =
  "+proj=aea +lat_0=23 +lon_0=-96 +lat_1=29.5 +lat_2=45.5 +x_0=0 +y_0=0 +datum=NAD83 +units=m +no_defs";
let dir: string;
let exported: ModelManifest;
let connection: NativeConnection;
let client: Client;
let pool: CpuPool | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "prithvi-eo2-tile-"));
  const report = await exportModel(
    "prithvi-eo2-300m-tl",
    { out: dir, size: "reduced", seed: 7, imgSize: 64, parityBatches: "1" },
    quiet,
  );
  exported = await loadModelManifest(report.name, dir);
  await writeTestWorld(
    planWorld({ state: "RI", year: 2022, scale: "small", seed: 3, season: { start: "04-01", end: "10-31" } }),
    { s3, config },
  );
  pool = await startCpuPool(config, s3);
  ({ connection, client } = pool);
}, 300_000);

afterAll(async () => {
  await pool?.stop();
  s3.destroy();
});

describe("a Prithvi-EO-2.0 TL model through the real pipeline", () => {
  it("maps a tile with each window's dates and place, equal to the slide recomputed from the stack", async () => {
    const inference = await createInferenceWorker({ connection, config, s3, modelsDir: dir });
    const manifest = (await inference.runUntil(
      client.workflow.execute("tileWorkflow", {
        taskQueue: config.taskQueues.cpu,
        workflowId: "prithvi-eo2-19TCG",
        args: [tileWithModel(config, exported, "eo2/19TCG/")],
      }),
    )) as TileManifest;
    expect(manifest.model).toMatchObject({ name: exported.name, sha256: exported.sha256 });
    expect(manifest.granules).toHaveLength(3);

    // Each date as its granule id spells it (YYYYDDD, 1 = 1 January), in the stack's order.
    const dates = manifest.granules.map((g) => {
      const [, year, day] = /\.(\d{4})(\d{3})T/.exec(g.id) as RegExpExecArray;
      return [Number(year), Number(day)];
    });
    const stack = await stagedStack(s3, config.storage.work);
    const { grid } = await readStackHeader(s3, stack);
    expect(grid.epsg).toBe(5070);
    const toWgs84 = proj4(Albers, "WGS84");
    const places: [number, number][] = [];
    const map = await readRaster(
      await openCog(s3Source(s3, ref(config.storage.outputs, "eo2/19TCG/classes.tif"))),
    );
    const loaded = await loadModel(exported, s3, { device: "cpu", modelsDir: dir }, quiet);
    const { compared, equal } = await recomputedAgreement(
      s3,
      stack,
      exported,
      map.data as Uint8Array,
      (chip, x0, y0) => {
        // The window's centre pixel (32, 32 of 64), its centre.
        const [lon, lat] = toWgs84.forward([
          grid.origin[0] + (x0 + 32.5) * grid.pixelSize,
          grid.origin[1] - (y0 + 32.5) * grid.pixelSize,
        ]) as [number, number];
        places.push([lat, lon]);
        return runBatch(loaded, chip, 1, {
          temporal: Float32Array.from(dates.flat()),
          location: Float32Array.from([lat, lon]),
        });
      },
    );
    // Tile 19TCG is Rhode Island's: latitude about 41.5, longitude about -71.5.
    for (const [lat, lon] of places) {
      expect(lat).toBeGreaterThan(40.5);
      expect(lat).toBeLessThan(42.5);
      expect(lon).toBeGreaterThan(-72.5);
      expect(lon).toBeLessThan(-70.5);
    }
    expect(compared).toBeGreaterThan(1000);
    // Batches in the pipeline against batches of 1 here may differ in the last bits: near-ties only.
    expect(equal / compared).toBeGreaterThan(0.999);
  });

  it("refuses to map with a TL model when the tile's input gives no dates, or not one a frame", async () => {
    const { key } = await stagedStack(s3, config.storage.work);
    const { predictTile } = createPredictActivities(s3, config, { modelsDir: dir });
    // The activity takes the stack's key relative to the work location.
    const relative = key.slice(config.storage.work.prefix.length);
    const input = {
      tileId: "19TCG",
      stackKey: relative,
      model: exported.name,
      outputPrefix: "eo2-refused/19TCG/",
    };
    const env = new MockActivityEnvironment();
    await expect(env.run(predictTile, input)).rejects.toThrow(
      `model ${exported.name} takes the year and day of year of each of its 3 dates; tile 19TCG's input gives 0`,
    );
    await expect(env.run(predictTile, { ...input, dates: [{ year: 2022, dayOfYear: 120 }] })).rejects.toThrow(
      "tile 19TCG's input gives 1",
    );
  });
});
