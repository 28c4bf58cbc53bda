import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClassPalette } from "../../lib/cdl/classes.ts";
import type { MosaicGrid } from "../../lib/contracts/grid.contract.ts";
import type { RegionSpec } from "../../lib/contracts/region.spec.ts";
import type { RunReport } from "../../lib/contracts/report.contract.ts";
import { PartRollupsRecordParser } from "../../lib/contracts/report.contract.ts";
import { gridBounds } from "../../lib/grid/lattice.ts";
import { seededRandom } from "../../lib/random.ts";
import { openCog, readRaster } from "../../lib/raster/cog.reader.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import { statesMeeting } from "../../lib/region/state.extent.ts";
import { regionRings } from "../../lib/report/mosaic.parts.ts";
import { mosaicInStrips } from "../../lib/report/mosaic.strips.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getBytes, getJson, putBytes, putJson, ref } from "../../lib/storage/s3.objects.ts";
import { s3Source } from "../../lib/storage/s3.source.ts";
import { pixelAt, runMap } from "../../lib/viewer/run.layers.ts";
import { runReportSteps } from "../../workflows/report.steps.ts";
import { boxNear, gdal, gdalAvailable, QuadCities, stateExtract } from "../support/cdl.fixtures.ts";
import { directReportSteps } from "../support/report.direct.ts";
import { stacValidators } from "../support/stac.validator.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("report-parts");
const s3 = createS3Client(config);
const steps = directReportSteps(s3, config);
const { outputs } = config.storage;
afterAll(() => s3.destroy());

// Two overlapping tile maps over the Mississippi between Iowa and Illinois.
const box = boxNear(QuadCities.lon - 0.1, QuadCities.lat + 0.1, 1100, 900);
const tiles = [
  { tileId: "15TXG", col: 0, row: 0 },
  { tileId: "15TYG", col: 400, row: 300 },
].map((t) => ({
  tileId: t.tileId,
  grid: {
    epsg: 5070,
    origin: [box.origin[0] + t.col * 30, box.origin[1] - t.row * 30],
    pixelSize: 30,
    width: 700,
    height: 600,
  } as MosaicGrid,
}));
/** Each tile map's SHA-256, as written. */
const expected = new Map<string, string>();
const region: RegionSpec = { kind: "states", name: "IA,IL", states: ["IA", "IL"] };

async function putTiles(prefix: string): Promise<void> {
  for (const [i, t] of tiles.entries()) {
    const random = seededRandom(i + 1);
    const n = t.grid.width * t.grid.height;
    const cells = Uint8Array.from({ length: 100 * 100 }, () =>
      random() < 0.1 ? 0 : 1 + Math.floor(random() * 13),
    );
    const classes = new Uint8Array(n);
    const confidence = new Uint8Array(n);
    for (let p = 0; p < n; p++) {
      const c = cells[Math.floor(p / t.grid.width / 8) * 100 + Math.floor((p % t.grid.width) / 8)] as number;
      classes[p] = c;
      confidence[p] = c === 0 ? 255 : Math.floor(random() * 100);
    }
    const geo = { epsg: 5070, origin: t.grid.origin, pixelSize: 30 };
    const size = { width: t.grid.width, height: t.grid.height, geo };
    const at = (name: string) => ref(outputs, `${prefix}tiles/${t.tileId}/${name}`);
    const cogs = {
      classes: await encodeCog({ ...size, data: classes, nodata: 0 }, { colorMap: ClassPalette }),
      confidence: await encodeCog({ ...size, data: confidence, nodata: 255 }),
    };
    const digest = (b: Buffer) => ({ sha256: createHash("sha256").update(b).digest("hex"), bytes: b.length });
    await putBytes(s3, at("classes.tif"), cogs.classes, "image/tiff");
    await putBytes(s3, at("confidence.tif"), cogs.confidence, "image/tiff");
    await putJson(s3, at("manifest.json"), {
      tileId: t.tileId,
      grid: t.grid,
      model: { name: "crop-tiny", sha256: "ab".repeat(32) },
      pixels: { total: n, mapped: n },
      granules: [],
      timings: { selectSeconds: 0, stageSeconds: 0, predictSeconds: 0 },
      // The first tile's manifest records its maps' checksums, as predictTile now does; the second is
      // an older manifest without them, whose maps the catalogue hashes itself.
      ...(i === 0 ? { files: { classes: digest(cogs.classes), confidence: digest(cogs.confidence) } } : {}),
    });
    expected.set(t.tileId, digest(cogs.classes).sha256);
  }
}

const input = (runId: string) => ({ ...planInput(runId), model: "crop-tiny" });
const planInput = (runId: string) => ({
  runId,
  region,
  year: 2022,
  outputPrefix: `runs/${runId}/`,
  tiles: tiles.map((t) => t.tileId),
});

beforeAll(async () => {
  // Iowa's labels are corn, Illinois' soybeans: per-state accuracy tells the parts apart.
  for (const [postal, fips, code] of [
    ["IA", 19, 1],
    ["IL", 17, 5],
  ] as const)
    await putBytes(
      s3,
      ref(config.storage.cdl, `2022/CDL_2022_${fips}.tif`),
      await stateExtract(postal, box, () => code),
      "image/tiff",
    );
  await putTiles("runs/parts/");
});

/** Raw bytes of a raster as GDAL reads it (first band, whole extent). */
async function gdalPixels(file: string): Promise<Buffer> {
  const out = `${file}.raw`;
  await gdal("gdal_translate", ["-q", "-of", "ENVI", file, out]);
  return readFile(out);
}

describe("a multi-state run's report, mosaicked by state", () => {
  let result: RunReport;
  beforeAll(async () => {
    result = await runReportSteps(steps, input("parts"));
  });

  it("writes one mosaic per state and sums them to what one pass over the region gives", async () => {
    const plan = await steps.planReport(planInput("parts"));
    expect(plan.parts.map((p) => p.id).sort()).toEqual(["IA", "IL"]);
    for (const p of plan.parts) {
      expect(p.prefix).toBe(`runs/parts/states/${p.id}/`);
      expect(Math.round((p.grid.origin[0] - plan.grid.origin[0]) / 30) % 512).toBe(0);
    }
    // Reference: the region in one pass, rolled up by state (the earlier state wins a border pixel).
    const reference = await mosaicInStrips(s3, {
      grid: plan.grid,
      rings: regionRings(region),
      tiles: tiles.map((t) => ({
        ...t,
        classes: ref(outputs, `runs/parts/tiles/${t.tileId}/classes.tif`),
        confidence: ref(outputs, `runs/parts/tiles/${t.tileId}/confidence.tif`),
      })),
      labels: [19, 17].map((f) => ref(config.storage.cdl, `2022/CDL_2022_${f}.tif`)),
      states: statesMeeting(gridBounds(plan.grid)),
      tmpRoot: tmpdir(),
    });
    const dir = await mkdtemp(join(tmpdir(), "report-parts-"));
    try {
      const accuracy = (await getJson(s3, ref(outputs, "runs/parts/accuracy.json"))) as {
        labelledPixels: number;
        mappedPixels: number;
        confusion: number[][];
        perState: { state: string; labelledPixels: number; confusion: number[][] }[];
        perTile: { tileId: string; confusion: number[][] }[];
      };
      expect(accuracy.labelledPixels).toBe(reference.rollups.run.labelled);
      expect(accuracy.labelledPixels).toBeGreaterThan(300_000);
      expect(accuracy.confusion).toEqual(reference.rollups.run.matrix);
      const states = statesMeeting(gridBounds(plan.grid)).map((s) => s.name);
      for (const s of accuracy.perState) {
        const i = states.indexOf(s.state);
        expect(s.confusion, s.state).toEqual(reference.rollups.perState[i]?.matrix);
        expect(s.labelledPixels).toBeGreaterThan(50_000);
      }
      expect(accuracy.perTile.map((t) => t.confusion)).toEqual(
        reference.rollups.perTile.map((c) => c.matrix),
      );
      const html = Buffer.from(await getBytes(s3, ref(outputs, "runs/parts/report.html"))).toString();
      expect(html).toContain("<h2>States</h2>");
      expect(html).toContain("Iowa (IA)");

      // The VRT over the state COGs, opened by GDAL where it lies, is the one-pass map pixel for pixel.
      expect(result.mosaic).toMatch(/runs\/parts\/map\.vrt$/);
      if (!(await gdalAvailable)) return;
      const keys = [
        "map.vrt",
        "confidence.vrt",
        "overview/map.tif",
        ...plan.parts.flatMap((p) => [`states/${p.id}/map.tif`, `states/${p.id}/confidence.tif`]),
      ];
      for (const key of keys) {
        await mkdir(dirname(join(dir, key)), { recursive: true });
        await writeFile(join(dir, key), await getBytes(s3, ref(outputs, `runs/parts/${key}`)));
      }
      const info = JSON.parse(await gdal("gdalinfo", ["-json", join(dir, "map.vrt")]));
      expect(info.size).toEqual([plan.grid.width, plan.grid.height]);
      expect(info.geoTransform).toEqual([plan.grid.origin[0], 30, 0, plan.grid.origin[1], 0, -30]);
      expect(info.bands[0].colorTable.entries[3]).toEqual([...(ClassPalette[3] as number[]), 255]);
      const ours = await gdalPixels(join(reference.dir, "map.tif"));
      expect((await gdalPixels(join(dir, "map.vrt"))).equals(ours)).toBe(true);
      expect(
        (await gdalPixels(join(dir, "confidence.vrt"))).equals(
          await gdalPixels(join(reference.dir, "confidence.tif")),
        ),
      ).toBe(true);
      // A small region is sampled every pixel: its overview is the map itself.
      expect(plan.sampleStep).toBe(1);
      expect((await gdalPixels(join(dir, "overview/map.tif"))).equals(ours)).toBe(true);
      // Single pixels read through the VRT (the whole-raster read above goes another way in GDAL).
      for (const [col, row] of [
        [650, 420],
        [100, 80],
        [1000, 850],
      ] as const) {
        const one = join(dir, `pixel-${col}-${row}.raw`);
        const window = ["-srcwin", String(col), String(row), "1", "1"];
        await gdal("gdal_translate", ["-q", "-of", "ENVI", ...window, join(dir, "map.vrt"), one]);
        expect((await readFile(one))[0], `${col},${row}`).toBe(ours[row * plan.grid.width + col]);
      }
    } finally {
      await rm(reference.dir, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("is shown by the viewer from its overview, a clicked pixel read from the state map under it", async () => {
    const map = await runMap(s3, config, "parts");
    expect(map?.key).toBe("overview/map.tif");
    if (!map) return;
    // A region this small is sampled every pixel, so its overview is the full map to compare with.
    const overview = await readRaster(
      await openCog(s3Source(s3, ref(outputs, "runs/parts/overview/map.tif"))),
    );
    const random = seededRandom(99);
    const files = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const col = Math.floor(random() * overview.width);
      const row = Math.floor(random() * overview.height);
      const [ox, oy] = map.grid.origin;
      const point = [ox + (col + 0.5) * 30, oy - (row + 0.5) * 30] as const;
      const value = await pixelAt(s3, config, "parts", map, [point[0], point[1]]);
      const expected = overview.data[row * overview.width + col];
      expect(value?.classId ?? 0, `${col},${row}`).toBe(expected);
      if (value?.classId) files.add(value.file);
    }
    expect([...files].sort()).toEqual(["states/IA/map.tif", "states/IL/map.tif"]);
  });

  it("describes each state mosaic as a STAC Item the schemas accept", async () => {
    const validate = await stacValidators();
    const collection = (await getJson(s3, ref(outputs, "runs/parts/stac/collection.json"))) as {
      links: { rel: string; href: string }[];
    };
    expect(validate.collection(collection), JSON.stringify(validate.collection.errors)).toBe(true);
    const items = collection.links.filter((l) => l.rel === "item").map((l) => l.href);
    expect(items).toEqual([
      "./map.json",
      "./items/15TXG.json",
      "./items/15TYG.json",
      "./states/IA.json",
      "./states/IL.json",
    ]);
    for (const href of items) {
      const item = (await getJson(s3, ref(outputs, `runs/parts/stac/${href.slice(2)}`))) as Record<
        string,
        never
      >;
      expect(validate.item(item), `${href}: ${JSON.stringify(validate.item.errors)}`).toBe(true);
    }
    for (const t of tiles) {
      const item = (await getJson(s3, ref(outputs, `runs/parts/stac/items/${t.tileId}.json`))) as {
        assets: { classes: { "file:checksum": string } };
      };
      expect(item.assets.classes["file:checksum"], t.tileId).toBe(`1220${expected.get(t.tileId)}`);
    }
    const iowa = (await getJson(s3, ref(outputs, "runs/parts/stac/states/IA.json"))) as {
      id: string;
      properties: Record<string, unknown>;
      assets: { classes: { href: string; "file:checksum": string } };
    };
    expect(iowa.id).toBe("parts-IA");
    expect(iowa.properties["crop_map:aAcc"]).toEqual(expect.any(Number));
    expect(iowa.assets.classes.href).toBe("../../states/IA/map.tif");
    // What the mosaic wrote is what the report reads back, checked.
    const rollups = PartRollupsRecordParser.parse(
      await getJson(s3, ref(outputs, "runs/parts/states/IA/rollups.json")),
    );
    expect(iowa.assets.classes["file:checksum"]).toBe(`1220${rollups.files.classes.sha256}`);
    const map = (await getJson(s3, ref(outputs, "runs/parts/stac/map.json"))) as {
      assets: Record<string, { href: string }>;
    };
    expect(map.assets.classes_vrt?.href).toBe("../map.vrt");
    expect(map.assets.classes?.href).toBe("../overview/map.tif");
  });

  it("does not mosaic a finished part again, unless what it was made from changed", async () => {
    const plan = await steps.planReport(planInput("parts"));
    const { tiles: _, ...run } = planInput("parts");
    const again = await Promise.all(
      plan.parts.map((part) => steps.buildMosaicPart({ ...run, sampleStep: plan.sampleStep, part })),
    );
    expect(again.map((p) => p.reused)).toEqual([true, true]);
    const manifest = ref(outputs, "runs/parts/tiles/15TYG/manifest.json");
    await putJson(s3, manifest, {
      ...((await getJson(s3, manifest)) as object),
      model: { name: "crop-tiny", sha256: "cd".repeat(32) },
    });
    const redone = await Promise.all(
      plan.parts.map((part) => steps.buildMosaicPart({ ...run, sampleStep: plan.sampleStep, part })),
    );
    expect(redone.map((p) => p.reused)).toEqual(plan.parts.map((p) => !p.tiles.includes("15TYG")));
  });

  it("mosaics a part again over a damaged rollups.json, and refuses a damaged tile manifest by name", async () => {
    const plan = await steps.planReport(planInput("parts"));
    const { tiles: _, ...run } = planInput("parts");
    const part = plan.parts[0] as (typeof plan.parts)[number];
    const rollups = ref(outputs, `${part.prefix}rollups.json`);
    const { files: _files, ...damaged } = (await getJson(s3, rollups)) as Record<string, unknown>;
    await putJson(s3, rollups, damaged);
    const again = await steps.buildMosaicPart({ ...run, sampleStep: plan.sampleStep, part });
    expect(again.reused).toBe(false);
    expect(PartRollupsRecordParser.parse(await getJson(s3, rollups)).digest).toEqual(expect.any(String));

    await putTiles("runs/damaged/");
    const manifest = ref(outputs, "runs/damaged/tiles/15TYG/manifest.json");
    const { grid: _grid, ...noGrid } = (await getJson(s3, manifest)) as Record<string, unknown>;
    await putJson(s3, manifest, noGrid);
    const error = await steps.planReport(planInput("damaged")).catch((e) => e);
    expect(error.message).toContain(
      "runs/damaged/tiles/15TYG/manifest.json: grid: Invalid input: expected object",
    );
  });

  it("refuses tile maps on different label grids, naming the tiles", async () => {
    await putTiles("runs/offgrid/");
    const manifest = ref(outputs, "runs/offgrid/tiles/15TYG/manifest.json");
    const shifted = {
      ...tiles[1]?.grid,
      origin: [(tiles[1]?.grid.origin[0] ?? 0) + 10, tiles[1]?.grid.origin[1]],
    };
    await putJson(s3, manifest, { ...((await getJson(s3, manifest)) as object), grid: shifted });
    const error = await steps.planReport(planInput("offgrid")).catch((e) => e);
    expect(error.message).toContain(
      "run offgrid: tile maps are on different grids: 15TYG is off 15TXG's lattice by 10 m in x",
    );
  });
});
