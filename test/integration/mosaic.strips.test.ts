import { readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { labelWindow } from "../../lib/accuracy/label.window.ts";
import { ClassPalette } from "../../lib/cdl/classes.ts";
import type { MosaicGrid } from "../../lib/contracts/grid.contract.ts";
import type { Ring } from "../../lib/grid/planar.ts";
import { seededRandom } from "../../lib/random.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import { rasterizeRings } from "../../lib/raster/rasterize.ts";
import { mosaicInStrips } from "../../lib/report/mosaic.strips.ts";
import {
  createMosaic,
  emptyRollups,
  type Mosaic,
  pasteTile,
  rollUp,
  tilesOffGrid,
  unionGrid,
} from "../../lib/report/mosaic.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { putBytes, ref } from "../../lib/storage/s3.objects.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("mosaic-strips");
const s3 = createS3Client(config);
afterAll(() => s3.destroy());

const x0 = -2356095 + 60_000 * 30;
const y0 = 3172605 - 40_000 * 30;
const at = (col: number, row: number): [number, number] => [x0 + col * 30, y0 - row * 30];

/** Three overlapping tile maps (random classes with gaps, random confidence) on the CDL lattice. */
const tiles = [
  { tileId: "15TVG", col: 0, row: 0, width: 900, height: 800 },
  { tileId: "15TWG", col: 700, row: 100, width: 800, height: 900 },
  { tileId: "15TVF", col: 300, row: 650, width: 900, height: 700 },
].map((t) => ({
  ...t,
  grid: { epsg: 5070, origin: at(t.col, t.row), pixelSize: 30, width: t.width, height: t.height },
}));

function tileRasters(seed: number, grid: MosaicGrid) {
  const random = seededRandom(seed);
  const n = grid.width * grid.height;
  const geo = { epsg: grid.epsg, origin: grid.origin, pixelSize: grid.pixelSize };
  const classes = Uint8Array.from({ length: n }, () => (random() < 0.1 ? 0 : 1 + Math.floor(random() * 13)));
  const confidence = Uint8Array.from(classes, (c) => (c === 0 ? 255 : Math.floor(random() * 100)));
  return {
    classes: { width: grid.width, height: grid.height, data: classes, geo, nodata: 0 },
    confidence: { width: grid.width, height: grid.height, data: confidence, geo, nodata: 255 },
  };
}

describe("the windowed mosaic", () => {
  it("is byte for byte and count for count the whole-array mosaic, a strip or a block at a time", async () => {
    const rasters = tiles.map((t, i) => tileRasters(i + 1, t.grid));
    for (const [i, t] of tiles.entries()) {
      const r = rasters[i] as (typeof rasters)[number];
      await putBytes(
        s3,
        ref(config.storage.outputs, `t/${t.tileId}/classes.tif`),
        await encodeCog(r.classes, { colorMap: ClassPalette }),
        "image/tiff",
      );
      await putBytes(
        s3,
        ref(config.storage.outputs, `t/${t.tileId}/confidence.tif`),
        await encodeCog(r.confidence),
        "image/tiff",
      );
    }
    // Labels: a CDL-like raster of real codes over most of the area.
    const labelGrid = { epsg: 5070, origin: at(-50, -50), pixelSize: 30, width: 1700, height: 1500 };
    const random = seededRandom(99);
    const codes = [1, 5, 24, 36, 61, 2, 4, 141, 111, 121, 190, 176, 0];
    const labelData = Uint8Array.from(
      { length: labelGrid.width * labelGrid.height },
      () => codes[Math.floor(random() * codes.length)] as number,
    );
    const labelKey = "2022/CDL_2022_19.tif";
    await putBytes(
      s3,
      ref(config.storage.cdl, labelKey),
      await encodeCog({ ...labelGrid, data: labelData, geo: labelGrid, nodata: 0 }),
      "image/tiff",
    );
    const labels = [ref(config.storage.cdl, labelKey)];

    const grid = unionGrid(tiles.map((t) => t.grid));
    // A region that cuts the union (a slanted edge), and two "states" splitting it.
    const region: Ring[] = [[at(20, 10), at(1450, 60), at(1400, 1340), at(80, 1300)]];
    const states = [
      { name: "West", rings: [[at(-10, -10), at(750, -10), at(750, 1400), at(-10, 1400)]] as Ring[] },
      { name: "East", rings: [[at(750, -10), at(1600, -10), at(1600, 1400), at(750, 1400)]] as Ring[] },
    ];
    const build = (blockColumns?: number, deflateLevel?: number, rings = region) =>
      mosaicInStrips(s3, {
        grid,
        rings,
        tiles: tiles.map((t) => ({
          tileId: t.tileId,
          grid: t.grid,
          classes: ref(config.storage.outputs, `t/${t.tileId}/classes.tif`),
          confidence: ref(config.storage.outputs, `t/${t.tileId}/confidence.tif`),
        })),
        labels,
        states,
        tmpRoot: tmpdir(),
        ...(blockColumns ? { blockColumns } : {}),
        ...(deflateLevel ? { deflateLevel } : {}),
      });
    const built = await build();
    // The same again in blocks of 512 columns (three per strip, the last one narrower), at level 1.
    const blocks = await build(512, 1);
    // A region in the first strips' west: most blocks have no pixel of it and are not pasted.
    const corner: Ring[] = [[at(30, 20), at(900, 40), at(60, 700)]];
    const cornered = await build(512, undefined, corner);
    const reference = await labelWindow(s3, labels, grid);
    const stateOf = new Uint8Array(grid.width * grid.height);
    for (const [s, state] of states.entries()) {
      const mask = rasterizeRings(state.rings, grid);
      for (let i = 0; i < mask.length; i++) if (mask[i] && !stateOf[i]) stateOf[i] = s + 1;
    }
    /** Everything in memory at once, as the report did before. */
    const wholeArray = (rings: Ring[]) => {
      const inside = rasterizeRings(rings, grid);
      const mosaic = createMosaic(grid);
      for (const [i, r] of rasters.entries()) pasteTile(mosaic, inside, i, r.classes, r.confidence);
      const rollups = emptyRollups(tiles.length, states.length, 13);
      rollUp(rollups, mosaic, reference.classes, inside, stateOf);
      return { inside, mosaic, rollups };
    };
    const geo = { epsg: grid.epsg, origin: grid.origin, pixelSize: grid.pixelSize };
    const cogs = (mosaic: Mosaic, deflateLevel?: number) =>
      Promise.all([
        encodeCog(
          { width: grid.width, height: grid.height, data: mosaic.classes, geo, nodata: 0 },
          { overviews: "nearest", colorMap: ClassPalette, ...(deflateLevel ? { deflateLevel } : {}) },
        ),
        encodeCog(
          { width: grid.width, height: grid.height, data: mosaic.confidence, geo, nodata: 255 },
          { overviews: "average", ...(deflateLevel ? { deflateLevel } : {}) },
        ),
      ]);
    try {
      const { inside, mosaic, rollups } = wholeArray(region);
      expect(built.rollups).toEqual(rollups);
      expect(built.rollups.run.labelled).toBeGreaterThan(1_000_000);
      expect(built.rollups.perState.every((c) => c.mapped > 0)).toBe(true);
      expect(built.ignored).toBe(reference.ignored);

      const [expectedMap, expectedConfidence] = await cogs(mosaic);
      expect((await readFile(join(built.dir, "map.tif"))).equals(expectedMap)).toBe(true);
      expect((await readFile(join(built.dir, "confidence.tif"))).equals(expectedConfidence)).toBe(true);
      expect((await readdir(built.dir)).sort()).toEqual(["confidence.tif", "map.tif"]);
      expect(blocks.rollups).toEqual(rollups);
      expect(blocks.sampled).toEqual(built.sampled);
      const [levelOneMap, levelOneConfidence] = await cogs(mosaic, 1);
      expect(levelOneMap.equals(expectedMap)).toBe(false);
      expect((await readFile(join(blocks.dir, "map.tif"))).equals(levelOneMap)).toBe(true);
      expect((await readFile(join(blocks.dir, "confidence.tif"))).equals(levelOneConfidence)).toBe(true);

      const small = wholeArray(corner);
      expect(cornered.rollups).toEqual(small.rollups);
      expect(cornered.rollups.run.labelled).toBeGreaterThan(100_000);
      expect(cornered.ignored).toBe(reference.ignored);
      const [smallMap, smallConfidence] = await cogs(small.mosaic);
      expect((await readFile(join(cornered.dir, "map.tif"))).equals(smallMap)).toBe(true);
      expect((await readFile(join(cornered.dir, "confidence.tif"))).equals(smallConfidence)).toBe(true);
      // Quicklook samples: every n-th pixel of map and region labels, n from the longer side.
      const step = Math.ceil(Math.max(grid.width, grid.height) / 1024);
      expect(step).toBe(2);
      const w = Math.ceil(grid.width / step);
      expect(built.sampled.width).toBe(w);
      for (let y = 0; y < built.sampled.height; y += 7)
        for (let x = 0; x < w; x++) {
          const i = y * step * grid.width + x * step;
          expect(built.sampled.classes[y * w + x]).toBe(mosaic.classes[i]);
          expect(built.sampled.labels[y * w + x]).toBe(inside[i] ? reference.classes[i] : 0);
        }
    } finally {
      for (const { dir } of [built, blocks, cornered]) await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses tile maps on different grids, naming the tiles", () => {
    const [a, b] = tiles;
    const shifted = {
      ...b?.grid,
      origin: [(b?.grid.origin[0] ?? 0) + 15, b?.grid.origin[1] ?? 0],
    } as MosaicGrid;
    expect(tilesOffGrid([a, { tileId: "15TWG", grid: shifted }] as never)).toBe(
      "tile maps are on different grids: 15TWG is off 15TVG's lattice by 15 m in x, 0 m in y",
    );
    expect(tilesOffGrid([a, { tileId: "15TWG", grid: { ...shifted, epsg: 32615 } }] as never)).toContain(
      "15TVG is EPSG:5070 at 30 m, 15TWG EPSG:32615 at 30 m",
    );
    expect(tilesOffGrid(tiles)).toBeUndefined();
  });
});
