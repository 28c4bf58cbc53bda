import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fromFile } from "geotiff";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MosaicGrid } from "../../lib/contracts/grid.contract.ts";
import type { RegionSpec } from "../../lib/contracts/region.spec.ts";
import type { PartRollups } from "../../lib/contracts/report.contract.ts";
import { CdlEpsg } from "../../lib/grid/crs.ts";
import { gridBounds, snapToNationalGrid, windowOf } from "../../lib/grid/lattice.ts";
import { ringBounds } from "../../lib/grid/planar.ts";
import { seededRandom } from "../../lib/random.ts";
import { openCog, readRaster } from "../../lib/raster/cog.reader.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import { statesMeeting } from "../../lib/region/state.extent.ts";
import { regionRings } from "../../lib/report/mosaic.parts.ts";
import { mosaicInStrips, type StripMosaic } from "../../lib/report/mosaic.strips.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getBytes, getJson, putBytes, ref } from "../../lib/storage/s3.objects.ts";
import { s3Source } from "../../lib/storage/s3.source.ts";
import { pixelAt, runMap } from "../../lib/viewer/run.layers.ts";
import { runReportSteps } from "../../workflows/report.steps.ts";
import { gdal, gdalAvailable, stateMask } from "../support/cdl.fixtures.ts";
import { directReportSteps } from "../support/report.direct.ts";
import { stacValidators } from "../support/stac.validator.ts";
import { testConfig } from "../support/test.config.ts";
import { putTileMap } from "../support/tile.maps.ts";

const config = testConfig("report-outside");
const s3 = createS3Client(config);
const steps = directReportSteps(s3, config);
const { outputs } = config.storage;
afterAll(() => s3.destroy());

// Where North Dakota and Minnesota meet Manitoba: the Red River between the states, the 49th
// parallel between them and Canada, whose side of the bbox HLS tiles cover too.
const region: RegionSpec = { kind: "bbox", bbox: [-97.45, 48.9, -96.95, 49.08] };
const box: MosaicGrid = { epsg: CdlEpsg, ...snapToNationalGrid(ringBounds(regionRings(region).flat())) };
// Two overlapping tile maps; the box's lower-left and upper-right corners are left unmapped.
const tiles = [
  { tileId: "14UPA", col: 0, row: 0, width: 800, height: 600 },
  { tileId: "14UQA", col: 450, row: 80, width: box.width - 450, height: box.height - 80 },
].map((t) => ({
  tileId: t.tileId,
  grid: {
    ...box,
    origin: [box.origin[0] + t.col * 30, box.origin[1] - t.row * 30] as [number, number],
    width: t.width,
    height: t.height,
  },
}));
const runId = "outside";
const prefix = `runs/${runId}/`;
const run = { runId, region, year: 2022, outputPrefix: prefix };
const planInput = { ...run, tiles: tiles.map((t) => t.tileId) };
const labelRaster = ref(config.storage.cdl, "2022/2022_30m_cdls.tif");

let reference: StripMosaic;
/** The run's grid, as planned. */
let grid: MosaicGrid;
beforeAll(async () => {
  // Labels beyond the states too (open water, 111), so what lies outside them is scored and summed.
  const inState = [stateMask("ND", box), stateMask("MN", box)];
  const random = seededRandom(5);
  const codes = Uint8Array.from({ length: box.width * box.height }, (_, i) =>
    inState.some((m) => m[i]) ? ([1, 5, 24, 36][Math.floor(random() * 4)] as number) : 111,
  );
  const geo = { epsg: CdlEpsg, origin: box.origin, pixelSize: 30 };
  const labels = await encodeCog({ width: box.width, height: box.height, geo, data: codes, nodata: 0 });
  await putBytes(s3, labelRaster, labels, "image/tiff");
  for (const [i, tile] of tiles.entries()) {
    const next = seededRandom(i + 1);
    await putTileMap(s3, outputs, prefix, tile, (col, row) => {
      const classId = ((col >> 3) * 7 + (row >> 3) * 3 + i) % 14;
      return { classId, confidence: Math.floor(next() * 100) };
    });
  }
  await runReportSteps(steps, { ...planInput, model: "crop-tiny" });
  // The region in one pass, every pixel of it from the tile maps, rolled up by state.
  grid = (await steps.planReport(planInput)).grid;
  reference = await mosaicInStrips(s3, {
    grid,
    rings: regionRings(region),
    tiles: tiles.map((t) => ({
      ...t,
      classes: ref(outputs, `${prefix}tiles/${t.tileId}/classes.tif`),
      confidence: ref(outputs, `${prefix}tiles/${t.tileId}/confidence.tif`),
    })),
    labels: [labelRaster],
    states: statesMeeting(gridBounds(grid)),
    tmpRoot: tmpdir(),
  });
});
afterAll(() => rm(reference.dir, { recursive: true, force: true }));

const readCog = async (key: string) => readRaster(await openCog(s3Source(s3, ref(outputs, key))));
/** One of the one-pass reference's COGs, as written. */
const readReference = async (file: string) =>
  readRaster(await (await fromFile(join(reference.dir, file))).getImage());

type Accuracy = {
  labelledPixels: number;
  confusion: number[][];
  perState: { state: string; labelledPixels: number; confusion: number[][] }[];
  perTile: { tileId: string; confusion: number[][] }[];
};

describe("a bbox run reaching outside every state (across a river between states, over the national border)", () => {
  it("maps what lies outside the states in a part of its own: every pixel once, as the tile maps have it", async () => {
    const plan = await steps.planReport(planInput);
    expect(plan.parts.map((p) => [p.id, p.prefix])).toEqual([
      ["MN", `${prefix}states/MN/`],
      ["ND", `${prefix}states/ND/`],
      ["outside-0-0", `${prefix}outside/0-0/`],
    ]);
    const n = plan.grid.width * plan.grid.height;
    const composed = { classes: new Uint8Array(n), confidence: new Uint8Array(n).fill(255) };
    let twice = 0;
    let outside = 0;
    for (const part of plan.parts) {
      const [classes, confidence] = await Promise.all([
        readCog(`${part.prefix}map.tif`),
        readCog(`${part.prefix}confidence.tif`),
      ]);
      const { col0, row0 } = windowOf(part.grid, plan.grid);
      for (let r = 0; r < part.grid.height; r++)
        for (let c = 0; c < part.grid.width; c++) {
          const from = r * part.grid.width + c;
          const value = classes.data[from] as number;
          if (value === 0) continue;
          const at = (row0 + r) * plan.grid.width + col0 + c;
          if (composed.classes[at] !== 0) twice++;
          composed.classes[at] = value;
          composed.confidence[at] = confidence.data[from] as number;
          if (part.outside) outside++;
        }
    }
    expect(twice).toBe(0);
    expect(outside).toBeGreaterThan(150_000);
    // The one-pass mosaic pastes the tile maps over the whole region, states or not.
    expect(Buffer.from(composed.classes).equals((await readReference("map.tif")).data as Uint8Array)).toBe(
      true,
    );
    expect(
      Buffer.from(composed.confidence).equals((await readReference("confidence.tif")).data as Uint8Array),
    ).toBe(true);
  });

  it("adds the outside part into the run's accuracy, and lists it as one row after the states", async () => {
    const accuracy = (await getJson(s3, ref(outputs, `${prefix}accuracy.json`))) as Accuracy;
    expect(accuracy.labelledPixels).toBe(reference.rollups.run.labelled);
    expect(accuracy.confusion).toEqual(reference.rollups.run.matrix);
    expect(accuracy.perTile.map((t) => t.confusion)).toEqual(reference.rollups.perTile.map((c) => c.matrix));
    expect(accuracy.perState.map((s) => s.state)).toEqual([
      "Minnesota (MN)",
      "North Dakota (ND)",
      "Outside the states",
    ]);
    const names = statesMeeting(gridBounds(grid)).map((s) => s.name);
    const [mn, nd, beyond] = accuracy.perState as Accuracy["perState"];
    for (const s of [mn, nd] as Accuracy["perState"])
      expect(s.confusion, s.state).toEqual(reference.rollups.perState[names.indexOf(s.state)]?.matrix);
    // What no state holds: the run's matrix less the states'.
    const rest = accuracy.confusion.map((row, l) =>
      row.map((v, p) => v - (mn?.confusion[l]?.[p] ?? 0) - (nd?.confusion[l]?.[p] ?? 0)),
    );
    expect(beyond?.confusion).toEqual(rest);
    expect(beyond?.labelledPixels).toBeGreaterThan(150_000);
    expect((mn?.labelledPixels ?? 0) + (nd?.labelledPixels ?? 0) + (beyond?.labelledPixels ?? 0)).toBe(
      accuracy.labelledPixels,
    );
    const html = Buffer.from(await getBytes(s3, ref(outputs, `${prefix}report.html`))).toString();
    expect(html).toContain("<td>Outside the states</td>");
  });

  it("puts the outside part in the VRT GDAL reads, pixel for pixel the one-pass map", async () => {
    if (!(await gdalAvailable)) return;
    const dir = await mkdtemp(join(tmpdir(), "report-outside-"));
    try {
      for (const key of ["map.vrt", "states/MN/map.tif", "states/ND/map.tif", "outside/0-0/map.tif"]) {
        await mkdir(dirname(join(dir, key)), { recursive: true });
        await writeFile(join(dir, key), await getBytes(s3, ref(outputs, `${prefix}${key}`)));
      }
      const pixels = async (file: string) => {
        await gdal("gdal_translate", ["-q", "-of", "ENVI", file, `${file}.raw`]);
        return readFile(`${file}.raw`);
      };
      expect((await pixels(join(dir, "map.vrt"))).equals(await pixels(join(reference.dir, "map.tif")))).toBe(
        true,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("describes the outside part as a STAC Item and reads a clicked pixel beyond the border from it", async () => {
    const validate = await stacValidators();
    const collection = (await getJson(s3, ref(outputs, `${prefix}stac/collection.json`))) as {
      links: { rel: string; href: string }[];
    };
    const items = collection.links.filter((l) => l.rel === "item").map((l) => l.href);
    expect(items).toContain("./outside/0-0.json");
    const item = (await getJson(s3, ref(outputs, `${prefix}stac/outside/0-0.json`))) as {
      id: string;
      properties: Record<string, unknown>;
      links: { rel: string; href: string }[];
      assets: { classes: { href: string; "file:checksum": string } };
    };
    expect(validate.item(item as never), JSON.stringify(validate.item.errors)).toBe(true);
    expect(item.id).toBe("outside-outside-0-0");
    expect(item.properties.title).toBe("Outside the states (cell 0-0) 2022");
    expect(item.links.find((l) => l.rel === "self")?.href).toBe("./0-0.json");
    expect(item.assets.classes.href).toBe("../../outside/0-0/map.tif");
    const rollups = (await getJson(s3, ref(outputs, `${prefix}outside/0-0/rollups.json`))) as PartRollups;
    expect(item.assets.classes["file:checksum"]).toBe(`1220${rollups.files.classes.sha256}`);

    // A pixel in Manitoba, north of the 49th parallel, mapped by the first tile.
    const map = await runMap(s3, config, runId);
    if (!map) throw new Error("no map");
    const one = await readReference("map.tif");
    const [col, row] = [300, 40];
    const value = await pixelAt(s3, config, runId, map, [
      grid.origin[0] + (col + 0.5) * 30,
      grid.origin[1] - (row + 0.5) * 30,
    ]);
    expect(value?.file).toBe("outside/0-0/map.tif");
    expect(value?.classId).toBe(one.data[row * grid.width + col]);
    expect(value?.classId).toBeGreaterThan(0);
  });

  it("does not mosaic the outside part again when nothing it was made from changed", async () => {
    const plan = await steps.planReport(planInput);
    const part = plan.parts.find((p) => p.outside);
    if (!part) throw new Error("no outside part");
    const again = await steps.buildMosaicPart({ ...run, sampleStep: plan.sampleStep, part });
    expect(again.reused).toBe(true);
  });
});
