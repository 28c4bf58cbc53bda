import {
  densify,
  type Point,
  polygonTouchesRect,
  type Rect,
  rectContains,
  rectsTouch,
  ringBounds,
} from "../grid/planar.ts";
import { allTiles, type HlsTile } from "../grid/tile.table.ts";
import { centralMeridian, utmNorth } from "../grid/utm.ts";
import type { Region } from "./region.ts";

/** Region edges are densified to this step (degrees) so straight lon/lat edges curve in UTM as they should. */
const DensifyDeg = 0.02;

interface IndexedTile {
  tile: HlsTile;
  /** The footprint's lon/lat bounds, longitudes unwrapped around the zone's central meridian. */
  lonLat: Rect;
}

let index: IndexedTile[] | undefined;

/** Lon/lat bounds of each footprint, from its densified edges (a UTM square is curved in lon/lat). */
function tileIndex(): IndexedTile[] {
  index ??= allTiles().map((tile) => {
    const utm = utmNorth(tile.zone);
    const [minX, minY, maxX, maxY] = tile.bounds;
    const outline = densify(
      [
        [minX, minY],
        [maxX, minY],
        [maxX, maxY],
        [minX, maxY],
      ],
      10_000,
    ).map((p) => {
      const [lon, lat] = utm.inverse(p);
      return [unwrap(lon, centralMeridian(tile.zone)), lat] as Point;
    });
    const b = ringBounds(outline);
    // A hair of margin absorbs projection round-off at the edges.
    return { tile, lonLat: [b[0] - 1e-6, b[1] - 1e-6, b[2] + 1e-6, b[3] + 1e-6] };
  });
  return index;
}

function unwrap(lon: number, around: number): number {
  let out = lon;
  while (out - around > 180) out -= 360;
  while (out - around < -180) out += 360;
  return out;
}

/** Compares lon/lat boxes allowing either to be written a full turn away (the antimeridian). */
function lonLatTouch(a: Rect, b: Rect): boolean {
  return [-360, 0, 360].some((s) => rectsTouch(a, [b[0] + s, b[1], b[2] + s, b[3]]));
}

/**
 * Every HLS tile whose footprint intersects the region, in id order. The test is exact in each
 * tile's own UTM zone, so tiles of a neighbouring zone that reach over the zone border count.
 */
export function tilesForRegion(region: Region): HlsTile[] {
  const parts = region.polygons.map((rings) => {
    const dense = rings.map((ring) => densify(ring, DensifyDeg));
    // Projected once per UTM zone: a state's tiles share a handful of zones.
    const projected = new Map<number, Point[][]>();
    const inZone = (zone: number) => {
      let rings = projected.get(zone);
      if (!rings) {
        const utm = utmNorth(zone);
        rings = dense.map((ring) => ring.map((p) => utm.forward(p)));
        projected.set(zone, rings);
      }
      return rings;
    };
    return { inZone, bounds: ringBounds(dense[0] ?? []) };
  });
  return tileIndex()
    .filter(({ tile, lonLat }) =>
      parts.some(
        (part) => lonLatTouch(lonLat, part.bounds) && polygonTouchesRect(part.inZone(tile.zone), tile.bounds),
      ),
    )
    .map(({ tile }) => tile);
}

/** Every tile whose footprint contains the lon/lat point. */
export function tilesContainingPoint(lon: number, lat: number): HlsTile[] {
  return tileIndex()
    .filter(({ lonLat }) => lonLatTouch(lonLat, [lon, lat, lon, lat]))
    .map(({ tile }) => tile)
    .filter((tile) => rectContains(tile.bounds, utmNorth(tile.zone).forward([lon, lat])));
}
