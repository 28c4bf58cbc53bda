import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClassPalette } from "../../lib/cdl/classes.ts";
import type { RegionSpec } from "../../lib/contracts/region.spec.ts";
import type { RunReport } from "../../lib/contracts/report.contract.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getBytes, getJson, putBytes, putJson, ref } from "../../lib/storage/s3.objects.ts";
import { runReportSteps } from "../../workflows/report.steps.ts";
import { boxNear, QuadCities, stateExtract } from "../support/cdl.fixtures.ts";
import { directReportSteps } from "../support/report.direct.ts";
import { stacValidators } from "../support/stac.validator.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("report-labels");
const s3 = createS3Client(config);
const reports = directReportSteps(s3, config);
afterAll(() => s3.destroy());

// One tile over the Mississippi at the Quad Cities, mapped all corn; Iowa's CDL is corn and
// Illinois' soybeans, so a report scored against the wrong state's raster cannot reach 100 %.
const iaBox = boxNear(QuadCities.lon, QuadCities.lat, 200, 150);
const ilBox = {
  ...iaBox,
  origin: [iaBox.origin[0] + 60 * 30, iaBox.origin[1] - 20 * 30] as [number, number],
};
const tile = { epsg: 5070, origin: iaBox.origin, pixelSize: 30, width: 260, height: 170 };
const tileId = "15TYG";
const urls: string[] = [];

beforeAll(async () => {
  // Sorted, Illinois (17) comes first: the raster a report that reads only one would take.
  for (const [name, postal, box, code] of [
    ["2022/CDL_2022_17.tif", "IL", ilBox, 5],
    ["2022/CDL_2022_19.tif", "IA", iaBox, 1],
  ] as const) {
    await putBytes(
      s3,
      ref(config.storage.cdl, name),
      await stateExtract(postal, box, () => code),
      "image/tiff",
    );
    urls.push(`s3://${config.storage.cdl.bucket}/${config.storage.cdl.prefix}${name}`);
  }
});

async function report(runId: string, region: RegionSpec) {
  const prefix = `runs/${runId}/`;
  const n = tile.width * tile.height;
  const geo = { epsg: tile.epsg, origin: tile.origin, pixelSize: tile.pixelSize };
  const maps = {
    "classes.tif": await encodeCog(
      { width: tile.width, height: tile.height, data: new Uint8Array(n).fill(3), geo, nodata: 0 },
      { colorMap: ClassPalette },
    ),
    "confidence.tif": await encodeCog({
      width: tile.width,
      height: tile.height,
      data: new Uint8Array(n).fill(90),
      geo,
      nodata: 255,
    }),
  };
  for (const [name, bytes] of Object.entries(maps))
    await putBytes(s3, ref(config.storage.outputs, `${prefix}tiles/${tileId}/${name}`), bytes, "image/tiff");
  await putJson(s3, ref(config.storage.outputs, `${prefix}tiles/${tileId}/manifest.json`), {
    tileId,
    grid: tile,
    pixels: { total: n, mapped: n },
    granules: [],
    timings: { selectSeconds: 0, stageSeconds: 0, predictSeconds: 0 },
  });
  const result: RunReport = await runReportSteps(reports, {
    runId,
    region,
    year: 2022,
    model: "crop-tiny",
    outputPrefix: prefix,
    tiles: [tileId],
  });
  const accuracy = (await getJson(s3, ref(config.storage.outputs, `${prefix}accuracy.json`))) as {
    labels: string[];
    labelledPixels: number;
    perClass: { id: number; pixels: number }[];
  };
  const pixels = (id: number) => accuracy.perClass.find((c) => c.id === id)?.pixels ?? 0;
  return { result, accuracy, corn: pixels(3), soybeans: pixels(4) };
}

describe("run report labels", () => {
  it("scores an Iowa region against Iowa's raster, though Illinois' is listed first", async () => {
    const { result, accuracy, corn, soybeans } = await report("iowa", { kind: "state", state: "IA" });
    expect(accuracy.labels).toEqual(urls);
    expect(corn).toBeGreaterThan(10_000);
    expect(soybeans).toBe(0);
    expect(accuracy.labelledPixels).toBe(corn);
    expect(result.aAcc).toBe(1);
  });

  it("scores a region across the state line against both states' rasters", async () => {
    const { result, accuracy, corn, soybeans } = await report("both", {
      kind: "bbox",
      bbox: [-90.47, 41.52, -90.4, 41.555],
    });
    expect(accuracy.labels).toEqual(urls);
    expect(corn).toBeGreaterThan(1000);
    expect(soybeans).toBeGreaterThan(1000);
    expect(result.aAcc).toBeCloseTo(corn / (corn + soybeans), 6);
    // Per state: Iowa's pixels are its corn, Illinois' its soybeans; together, the run's.
    const perState = (
      accuracy as unknown as { perState: { state: string; labelledPixels: number; aAcc: number }[] }
    ).perState;
    expect(perState.map((s) => s.state)).toEqual(["Illinois (IL)", "Iowa (IA)"]);
    expect(perState.find((s) => s.state === "Iowa (IA)")).toMatchObject({ labelledPixels: corn, aAcc: 1 });
    expect(perState.find((s) => s.state === "Illinois (IL)")).toMatchObject({
      labelledPixels: soybeans,
      aAcc: 0,
    });
    const html = Buffer.from(
      await getBytes(s3, ref(config.storage.outputs, "runs/both/report.html")),
    ).toString();
    expect(html).toContain("<h2>States</h2>");
  });

  it("writes a STAC catalogue of the run that the STAC 1.1.0 schemas accept", async () => {
    const { result } = await report("stac", { kind: "state", state: "IA" });
    expect(result.stac).toBe(
      `s3://${config.storage.outputs.bucket}/${config.storage.outputs.prefix}runs/stac/stac/collection.json`,
    );
    const read = async (key: string) =>
      getJson(s3, ref(config.storage.outputs, `runs/stac/stac/${key}`)) as Promise<Record<string, unknown>>;
    const validate = await stacValidators();
    const collection = await read("collection.json");
    expect(validate.collection(collection), JSON.stringify(validate.collection.errors)).toBe(true);
    const itemHrefs = (collection.links as { rel: string; href: string }[])
      .filter((l) => l.rel === "item")
      .map((l) => l.href);
    expect(itemHrefs).toEqual(["./map.json", `./items/${tileId}.json`]);
    for (const href of itemHrefs) {
      const item = await read(href.slice(2));
      expect(validate.item(item), `${href}: ${JSON.stringify(validate.item.errors)}`).toBe(true);
      const props = item.properties as Record<string, unknown>;
      expect(props["proj:code"]).toBe("EPSG:5070");
      const assets = item.assets as Record<string, Record<string, unknown>>;
      const classes = assets.classes as Record<string, unknown>;
      expect(classes["classification:classes"]).toHaveLength(13);
      expect((classes["raster:bands"] as { data_type: string }[])[0]?.data_type).toBe("uint8");
      // The file extension's checksum is the file's own: a SHA-256 multihash of what is stored.
      for (const asset of [assets.classes, assets.confidence] as Record<string, unknown>[]) {
        const key = new URL(asset.href as string, `https://x/runs/stac/stac/${href.slice(2)}`).pathname.slice(
          1,
        );
        const bytes = await getBytes(s3, ref(config.storage.outputs, key));
        expect(asset["file:size"]).toBe(bytes.length);
        expect(asset["file:checksum"]).toBe(`1220${createHash("sha256").update(bytes).digest("hex")}`);
      }
    }
    // A broken item is refused: the schemas are really applied.
    const map = await read("map.json");
    expect(
      validate.item({ ...map, properties: { ...(map.properties as object), datetime: undefined } }),
    ).toBe(false);
  });
});
