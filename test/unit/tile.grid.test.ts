import { describe, expect, it } from "vitest";
import { densify, type Point, rectContains, ringBounds, ringsContain } from "../../lib/grid/planar.ts";
import { allTiles, findTile, type HlsTile } from "../../lib/grid/tile.table.ts";
import { utmNorth } from "../../lib/grid/utm.ts";
import { seededRandom } from "../../lib/random.ts";
import { resolveRegion } from "../../lib/region/region.ts";
import { tilesContainingPoint, tilesForRegion } from "../../lib/region/tile.cover.ts";

const ids = (tiles: HlsTile[]) => tiles.map((t) => t.tileId).sort();

/** The slow, obvious way: project the point into every tile's zone and test its footprint. */
function bruteForceContaining(lon: number, lat: number): string[] {
  return allTiles()
    .filter((t) => rectContains(t.bounds, utmNorth(t.zone).forward([lon, lat])))
    .map((t) => t.tileId)
    .sort();
}

describe("HLS tile table", () => {
  it("carries ESA's corners, not round MGRS values", () => {
    expect(findTile("15TVG")).toMatchObject({
      epsg: 32615,
      origin: [399960, 4700040],
      bounds: [399960, 4590240, 509760, 4700040],
    });
    expect(findTile("19TCG")?.origin).toEqual([300000, 4700040]);
  });

  it("names band-edge tiles as ESA does (13SFR, not the 13RFR a plain MGRS converter gives)", () => {
    expect(findTile("13SFR")).toBeDefined();
    expect(findTile("13RFR")).toBeUndefined();
  });

  it("has every footprint 3660 x 3660 pixels of 30 m", () => {
    for (const t of allTiles()) {
      expect(t.bounds[2] - t.bounds[0]).toBe(109_800);
      expect(t.bounds[3] - t.bounds[1]).toBe(109_800);
      expect(t.width * t.pixelSize).toBe(109_800);
    }
  });
});

describe("tiles containing a point", () => {
  it("matches a brute-force scan for random points in the contiguous US", () => {
    const random = seededRandom(20220601);
    const states = ["CA", "TX", "IA", "ME", "FL", "MT", "MI", "NV"].map((s) =>
      resolveRegion({ kind: "state", state: s }),
    );
    let checked = 0;
    while (checked < 300) {
      const lon = -125 + random() * 59;
      const lat = 24 + random() * 26;
      if (!states.some((s) => s.polygons.some((polygon) => ringsContain(polygon, [lon, lat])))) continue;
      checked++;
      const found = tilesContainingPoint(lon, lat);
      expect(ids(found), `point ${lon},${lat}`).toEqual(bruteForceContaining(lon, lat));
      expect(found.length, `point ${lon},${lat}`).toBeGreaterThan(0);
    }
  });

  it("includes tiles of both zones next to a UTM zone border", () => {
    // -90 is the border between zones 15 and 16; tiles of each reach over it.
    for (const lon of [-90.05, -90, -89.95]) {
      const zones = new Set(tilesContainingPoint(lon, 42).map((t) => t.zone));
      expect([...zones].sort(), `lon ${lon}`).toEqual([15, 16]);
    }
    expect(ids(tilesContainingPoint(-89.95, 42))).toEqual(bruteForceContaining(-89.95, 42));
  });
});

describe("tiles for a region", () => {
  it.each(["RI", "IA", "CO"])("lists exactly the tiles that reach %s", (postal) => {
    const region = resolveRegion({ kind: "state", state: postal });
    const listed = new Set(ids(tilesForRegion(region)));

    // Nothing missing: every tile containing a boundary point or an interior lattice point is listed.
    const samples: Point[] = region.polygons.flatMap((polygon) => densify(polygon[0] ?? [], 0.02));
    for (const polygon of region.polygons) {
      const [w, s, e, n] = ringBounds(polygon[0] ?? []);
      for (let lon = w; lon <= e; lon += 0.1) {
        for (let lat = s; lat <= n; lat += 0.1)
          if (ringsContain(polygon, [lon, lat])) samples.push([lon, lat]);
      }
    }
    for (const [lon, lat] of samples) {
      for (const id of bruteForceContaining(lon, lat))
        expect(listed.has(id), `${id} holds ${lon},${lat}`).toBe(true);
    }

    // Nothing extra: every listed tile holds a boundary point of the region or lies inside it.
    for (const id of listed) {
      const tile = findTile(id) as HlsTile;
      const utm = utmNorth(tile.zone);
      const holdsSample = samples.some((p) => rectContains(tile.bounds, utm.forward(p)));
      const center = utm.inverse([
        (tile.bounds[0] + tile.bounds[2]) / 2,
        (tile.bounds[1] + tile.bounds[3]) / 2,
      ]);
      const inside = region.polygons.some((polygon) => ringsContain(polygon, center));
      expect(holdsSample || inside, `${id} does not reach ${postal}`).toBe(true);
    }
  });

  it("lists a handful of tiles for Rhode Island and a few dozen for Iowa", () => {
    expect(ids(tilesForRegion(resolveRegion({ kind: "state", state: "RI" })))).toEqual([
      "18TYL",
      "18TYM",
      "19TBF",
      "19TBG",
      "19TCF",
      "19TCG",
    ]);
    // Iowa spans zones 14, 15 and 16, and tiles of each neighbour zone reach over the borders.
    const iowa = tilesForRegion(resolveRegion({ kind: "state", state: "Iowa" }));
    expect(new Set(iowa.map((t) => t.zone))).toEqual(new Set([14, 15, 16]));
    expect(iowa.length).toBeGreaterThanOrEqual(20);
    expect(iowa.length).toBeLessThan(40);
  });

  it("takes a bbox across a zone border", () => {
    const tiles = tilesForRegion(resolveRegion({ kind: "bbox", bbox: [-90.2, 41.9, -89.8, 42.1] }));
    expect(new Set(tiles.map((t) => t.zone))).toEqual(new Set([15, 16]));
  });
});
