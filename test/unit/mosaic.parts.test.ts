import { describe, expect, it } from "vitest";
import type { MosaicGrid } from "../../lib/contracts/grid.contract.ts";
import type { RegionSpec } from "../../lib/contracts/region.spec.ts";
import { CdlEpsg } from "../../lib/grid/crs.ts";
import { snapToNationalGrid, windowOf } from "../../lib/grid/lattice.ts";
import { ringBounds } from "../../lib/grid/planar.ts";
import { rasterizeRings } from "../../lib/raster/rasterize.ts";
import { parseRegionName } from "../../lib/region/named.regions.ts";
import { partClip, planParts, regionRings } from "../../lib/report/mosaic.parts.ts";
import { composeSamples } from "../../lib/report/regional.sample.ts";

describe("cutting a run's map into parts", () => {
  it("gives the contiguous US a part per state, on a lattice its coarse overview shares", () => {
    const spec = parseRegionName("conus");
    const grid: MosaicGrid = { epsg: CdlEpsg, ...snapToNationalGrid(ringBounds(regionRings(spec).flat())) };
    // Tile maps of 4500 px covering the box, as the run's tiles would.
    const tiles = [];
    for (let r = 0; r * 4000 < grid.height; r++)
      for (let c = 0; c * 4000 < grid.width; c++)
        tiles.push({
          tileId: `T${r}-${c}`,
          grid: {
            ...grid,
            origin: [grid.origin[0] + c * 4000 * 30, grid.origin[1] - r * 4000 * 30] as [number, number],
            width: 4500,
            height: 4500,
          },
        });
    const plan = planParts(spec, grid, tiles, "runs/conus/");
    expect(plan.parts).toHaveLength(49);
    expect(plan.sampleStep).toBe(64);
    expect(Math.max(grid.width, grid.height) / plan.sampleStep).toBeLessThanOrEqual(4096);
    for (const part of plan.parts) {
      expect(Math.round((part.grid.origin[0] - grid.origin[0]) / 30) % 512, part.id).toBe(0);
      expect(Math.round((grid.origin[1] - part.grid.origin[1]) / 30) % 512, part.id).toBe(0);
      expect(part.tiles.length, part.id).toBeGreaterThan(0);
    }
    // Parts later in the order step back from the earlier states they border.
    const order = plan.parts.map((p) => p.id);
    for (const part of plan.parts)
      for (const e of part.exclude) expect(order.indexOf(e)).toBeLessThan(order.indexOf(part.id));
    expect(new Set(plan.parts.map((p) => p.prefix)).size).toBe(49);
  });

  it("gives a bbox's pixels outside every state (a lake, over the border) parts of their own, each pixel in one part", () => {
    // Along Lake Erie from Michigan and Ohio past Ontario's shore: two cells of 4096 px hold water or Canada.
    const [w, s, e, n] = [-83.3, 41.95, -80.6, 42.1];
    const spec: RegionSpec = { kind: "bbox", bbox: [w, s, e, n] };
    const rings = regionRings(spec);
    const grid: MosaicGrid = { epsg: CdlEpsg, ...snapToNationalGrid(ringBounds(rings.flat())) };
    const plan = planParts(spec, grid, [{ tileId: "17TLG", grid }], "runs/erie/");
    expect(plan.parts.map((p) => p.id)).toEqual(["MI", "OH", "outside-0-0", "outside-0-1"]);
    const outside = plan.parts.filter((p) => p.outside);
    expect(outside.map((p) => p.prefix)).toEqual(["runs/erie/outside/0-0/", "runs/erie/outside/0-1/"]);
    expect(outside.map((p) => p.exclude)).toEqual([["MI", "OH"], ["OH"]]);
    // Claims of every part, with the clips the mosaic applies (region outline, then the part's clip).
    const claims = new Uint8Array(grid.width * grid.height);
    const byOutside = new Uint8Array(grid.width * grid.height);
    for (const part of plan.parts) {
      expect(Math.round((part.grid.origin[0] - grid.origin[0]) / 30) % 512, part.id).toBe(0);
      expect(Math.round((grid.origin[1] - part.grid.origin[1]) / 30) % 512, part.id).toBe(0);
      const clip = partClip(part) as NonNullable<ReturnType<typeof partClip>>;
      const own = rasterizeRings(rings, part.grid);
      const within = clip.within && rasterizeRings(clip.within, part.grid);
      const without = clip.without.map((w) => rasterizeRings(w, part.grid));
      const { col0, row0 } = windowOf(part.grid, grid);
      for (let r = 0; r < part.grid.height; r++)
        for (let c = 0; c < part.grid.width; c++) {
          const i = r * part.grid.width + c;
          if (!own[i] || (within && !within[i]) || without.some((w) => w[i])) continue;
          const at = (row0 + r) * grid.width + col0 + c;
          claims[at] = (claims[at] as number) + 1;
          if (part.outside) byOutside[at] = 1;
        }
    }
    const region = rasterizeRings(rings, grid);
    let wrong = 0;
    for (let i = 0; i < region.length; i++) if (claims[i] !== region[i]) wrong++;
    expect(wrong).toBe(0);
    expect(byOutside.reduce((n, v) => n + v, 0)).toBeGreaterThan(1_000_000);
    // A polygon is cut the same way.
    const ring: [number, number][] = [
      [w, s],
      [e, s],
      [e, n],
      [w, n],
      [w, s],
    ];
    const polygon = planParts(
      { kind: "polygon", name: "erie", coordinates: [[ring]] },
      grid,
      [{ tileId: "17TLG", grid }],
      "runs/erie/",
    );
    expect(polygon.parts).toEqual(plan.parts);
  });

  it("keeps a state run in one part where its map always was", () => {
    const grid: MosaicGrid = {
      epsg: CdlEpsg,
      origin: [2000000, 2400000],
      pixelSize: 30,
      width: 3000,
      height: 2000,
    };
    const plan = planParts({ kind: "state", state: "RI" }, grid, [{ tileId: "19TCG", grid }], "runs/ri/");
    expect(plan.parts).toEqual([
      { id: "region", name: "Rhode Island (RI)", prefix: "runs/ri/", grid, exclude: [], tiles: ["19TCG"] },
    ]);
    expect(plan.sampleStep).toBe(3);
  });

  it("composes the parts' samples into the region's, pixel for pixel", () => {
    const grid: MosaicGrid = { epsg: CdlEpsg, origin: [0, 0], pixelSize: 30, width: 2048, height: 1100 };
    const sample = (value: number, width: number, height: number) => ({
      width,
      height,
      classes: new Uint8Array(width * height).fill(value),
      confidence: new Uint8Array(width * height).fill(value * 10),
      labels: new Uint8Array(width * height).fill(value + 1),
    });
    const part = (col: number, row: number, width: number, height: number): MosaicGrid => ({
      ...grid,
      origin: [col * 30, -row * 30],
      width,
      height,
    });
    const out = composeSamples(grid, 4, [
      { grid: part(0, 0, 1024, 1100), sample: sample(2, 256, 275) },
      { grid: part(1024, 512, 1024, 588), sample: sample(5, 256, 147) },
    ]);
    expect([out.width, out.height]).toEqual([512, 275]);
    expect(out.classes[0]).toBe(2);
    expect(out.classes[10 * 512 + 300]).toBe(0);
    expect(out.confidence[10 * 512 + 300]).toBe(255);
    expect(out.classes[200 * 512 + 300]).toBe(5);
    expect(out.confidence[200 * 512 + 300]).toBe(50);
    expect(out.labels[200 * 512 + 300]).toBe(6);
    expect(() => composeSamples(grid, 4, [{ grid: part(2, 0, 8, 8), sample: sample(1, 2, 2) }])).toThrow(
      "not on the 4-pixel sample lattice",
    );
  });
});
