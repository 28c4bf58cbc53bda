import { describe, expect, it } from "vitest";
import { classHistogram, clipNegative, judgeChip } from "../../lib/chips/chip.filter.ts";
import { cellsHeldBy, chipId, type Footprint, ownedChips } from "../../lib/chips/chip.grid.ts";
import { chooseChipScenes } from "../../lib/chips/chip.scenes.ts";
import { blockOf, capChips, splitChips } from "../../lib/chips/chip.split.ts";
import { SceneRuleParser, SplitParser } from "../../lib/contracts/chips.contract.ts";
import type { Candidate } from "../../lib/contracts/granule.contract.ts";
import { NationalCdlGrid } from "../../lib/grid/crs.ts";
import { findTile } from "../../lib/grid/tile.table.ts";
import { maskFill, maskValid, nearestRows } from "../../lib/pipeline/stage.tasks.ts";
import type { WarpPlan } from "../../lib/pipeline/warp.ts";

const rule = SceneRuleParser.parse({});
const scene = (product: string, doy: number, cloudCover: number, spatialCoverage: number): Candidate => ({
  id: `HLS.${product}.T15TVG.2022${String(doy).padStart(3, "0")}T165851.v2.0`,
  doy,
  cloudCover,
  spatialCoverage,
});

describe("the seed's scene choice", () => {
  it("keeps S30 scenes of March to September with cloud <= 5 and picks first, middle and last", () => {
    const candidates = [
      scene("S30", 70, 5, 100),
      scene("S30", 100, 0, 100),
      scene("L30", 110, 0, 100), // Landsat: never
      scene("S30", 130, 6, 100), // too cloudy
      scene("S30", 150, 1, 100),
      scene("S30", 200, 2, 100),
      scene("S30", 280, 0, 100), // after September 30th (day 273)
    ];
    const choice = chooseChipScenes(2022, candidates, rule);
    expect(choice).toMatchObject({ coverage: 100, qualifying: 4 });
    // n = 4: indices 0, 4 // 2 = 2 and 3.
    expect("scenes" in choice && choice.scenes.map((s) => s.doy)).toEqual([70, 150, 200]);
  });

  it("steps down the coverage ladder to the first level with three scenes", () => {
    const candidates = [scene("S30", 70, 0, 95), scene("S30", 100, 0, 100), scene("S30", 150, 0, 72)];
    expect(chooseChipScenes(2022, candidates, rule)).toMatchObject({ coverage: 70, qualifying: 3 });
    const choice = chooseChipScenes(2022, [...candidates, scene("S30", 160, 0, 91)], rule);
    expect(choice).toMatchObject({ coverage: 90, qualifying: 3 });
  });

  it("skips a tile without three qualifying scenes, with the reason", () => {
    const choice = chooseChipScenes(2022, [scene("S30", 70, 0, 100), scene("S30", 90, 0, 40)], rule);
    expect(choice).toEqual({
      skipped:
        "2 S30 scenes 03-01..09-30 with cloud cover <= 5 %, fewer than 3 at every coverage down to 50 %",
    });
  });
});

describe("the seed's chip filter", () => {
  const n = 100;
  const clear = () => new Uint8Array(n).fill(64);
  const bands = () => Array.from({ length: 18 }, () => new Int16Array(n).fill(500));
  const labels = new Uint8Array(n).fill(3);

  it("drops a chip whose most frequent invalid Fmask value covers 5 % on any date", () => {
    const cloudy = clear().fill(2, 0, 5);
    expect(judgeChip(bands(), [clear(), cloudy, clear()], labels)).toBe("qa");
    expect(judgeChip(bands(), [clear(), clear().fill(2, 0, 4), clear()], labels)).toBe("keep");
    // 4 % cloud and 4 % shadow: the most frequent invalid value is under 5 %.
    expect(judgeChip(bands(), [clear().fill(2, 0, 4).fill(8, 4, 8), clear(), clear()], labels)).toBe("keep");
    // Outside the swath (255) counts as invalid; adjacent (4), water (32) and aerosol do not.
    expect(judgeChip(bands(), [clear().fill(255, 0, 5), clear(), clear()], labels)).toBe("qa");
    expect(
      judgeChip(bands(), [clear().fill(4).fill(32, 0, 50).fill(228, 50, 60), clear(), clear()], labels),
    ).toBe("keep");
  });

  it("drops a chip with a band pixel of -1000 but passes the fill -9999, and drops unlabelled chips", () => {
    const marked = bands();
    (marked[7] as Int16Array)[3] = -1000;
    expect(judgeChip(marked, [clear(), clear(), clear()], labels)).toBe("marker");
    const filled = bands();
    (filled[7] as Int16Array)[3] = -9999;
    expect(judgeChip(filled, [clear(), clear(), clear()], labels)).toBe("keep");
    expect(judgeChip(bands(), [clear(), clear(), clear()], new Uint8Array(n))).toBe("unlabelled");
  });

  it("clips negative reflectance (the fill too) to 0 and counts classes", () => {
    expect([...clipNegative(Int16Array.from([-9999, -1, 0, 7]))]).toEqual([0, 0, 0, 7]);
    expect(classHistogram(Uint8Array.from([0, 3, 3, 13]))).toEqual([
      1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    ]);
  });
});

describe("the chip grid", () => {
  const lattice = {
    epsg: 5070,
    origin: [NationalCdlGrid.originX, NationalCdlGrid.originY] as [number, number],
    pixelSize: 30,
    cells: 224,
  };
  const footprint = (tileId: string): Footprint => {
    const tile = findTile(tileId);
    if (!tile) throw new Error(tileId);
    return { epsg: tile.epsg, rect: tile.bounds };
  };
  // Neighbours that overlap by 9.8 km, and one across a UTM zone edge.
  const tiles = ["19TCG", "19TCF", "19TBG", "18TYM"];
  const footprints = new Map(tiles.map((t) => [t, footprint(t)]));

  it("gives every chip held whole by some tile to exactly one tile: the first in sorted order holding it", () => {
    const owned = tiles.map((t) => ownedChips(lattice, t, footprints, footprint(t)).map(chipId));
    const all = owned.flat();
    expect(new Set(all).size).toBe(all.length);
    const held = new Set(tiles.flatMap((t) => cellsHeldBy(lattice, footprint(t)).map(chipId)));
    expect(new Set(all)).toEqual(held);
    // A tile holds about (109.8 km / 6.72 km)^2 = 267 chips; overlaps go to the earlier tile.
    const [cg, cf, bg, ym] = owned.map((o) => o.length) as [number, number, number, number];
    expect(cellsHeldBy(lattice, footprint("19TCG")).length).toBeGreaterThan(200);
    expect(ym).toBe(cellsHeldBy(lattice, footprint("18TYM")).length);
    expect(bg).toBeLessThan(cellsHeldBy(lattice, footprint("19TBG")).length);
    expect(cf + cg).toBeLessThan(2 * cellsHeldBy(lattice, footprint("19TCG")).length);
  });

  it("makes a tile's chips only where its granules' raster holds them whole", () => {
    const tile = footprint("19TCG");
    const [x0, , , y1] = tile.rect;
    const window: Footprint = { epsg: tile.epsg, rect: [x0 + 30_000, y1 - 44_400, x0 + 44_400, y1 - 30_000] };
    const cells = ownedChips(lattice, "19TCG", footprints, window);
    expect(cells.length).toBeGreaterThanOrEqual(1);
    expect(cells.length).toBeLessThanOrEqual(4);
  });
});

describe("splits and the cap", () => {
  const grid = Array.from({ length: 12 * 12 }, (_, i) => ({
    col: 100 + (i % 12),
    row: 40 + Math.floor(i / 12),
  }));

  it("splits by chip with the seed, a fifth to validation", () => {
    const split = splitChips(grid, SplitParser.parse({ seed: 7 }));
    expect(split.validation.length).toBe(Math.ceil(0.2 * grid.length));
    expect(new Set([...split.training, ...split.validation]).size).toBe(grid.length);
    expect(splitChips(grid, SplitParser.parse({ seed: 7 }))).toEqual(split);
    expect(splitChips(grid, SplitParser.parse({ seed: 8 }))).not.toEqual(split);
  });

  it("splits by blocks, each block whole on one side", () => {
    const split = splitChips(grid, SplitParser.parse({ kind: "blocks", blockChips: 4 }));
    const blockOfId = (id: string) => {
      const [col, row] = id.split("_").slice(1).map(Number) as [number, number];
      return blockOf({ col, row }, 4);
    };
    const held = new Set(split.validation.map(blockOfId));
    expect(split.training.filter((id) => held.has(blockOfId(id)))).toEqual([]);
    expect(split.validation.length % 16).toBe(0);
    expect(split.validation.length).toBeGreaterThanOrEqual(0.2 * grid.length);
    // One block only: it goes to training.
    expect(splitChips(grid.slice(0, 4), SplitParser.parse({ kind: "blocks" })).validation).toEqual([]);
  });

  it("caps by seed, the same chips every time, in position order", () => {
    const capped = capChips(grid, 10, 3);
    expect(capped).toHaveLength(10);
    expect(capChips([...grid].reverse(), 10, 3)).toEqual(capped);
    expect(capChips(grid, undefined, 3)).toHaveLength(grid.length);
  });
});

describe("the chips' staging mode", () => {
  it("keeps cloudy pixels valid and only the fill invalid, where the run's mask drops cloud", () => {
    const fmask = Uint8Array.from([0, 2, 8, 64, 255]);
    const bands = [Int16Array.from([10, 20, 30, -9999, 50])];
    const chips = new Uint8Array(5);
    const run = new Uint8Array(5);
    maskFill({ bands, fmask, valid: chips, from: 0, to: 5 });
    maskValid({ bands, fmask, valid: run, from: 0, to: 5 });
    expect([...chips]).toEqual([1, 1, 1, 0, 1]);
    expect([...run]).toEqual([1, 0, 0, 0, 0]);
  });

  it("warps Fmask by nearest, 255 outside the granule", () => {
    const plan = { nearest: Int32Array.from([2, -1, 0]) } as unknown as WarpPlan;
    const out = new Uint8Array(3);
    nearestRows({ plan, source: Uint8Array.from([64, 0, 2]), out, outside: 255, from: 0, to: 3 });
    expect([...out]).toEqual([2, 255, 64]);
  });
});
