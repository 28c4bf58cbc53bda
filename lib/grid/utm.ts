import proj4 from "proj4";
import type { Point } from "./planar.ts";

export interface UtmProjection {
  zone: number;
  epsg: number;
  /** lon/lat (WGS 84) to easting/northing. */
  forward(point: Point): [number, number];
  inverse(point: Point): [number, number];
}

const projections = new Map<number, UtmProjection>();

/** WGS 84 / UTM zone N (EPSG 326NN): every HLS tile in the United States is in the north. */
export function utmNorth(zone: number): UtmProjection {
  let projection = projections.get(zone);
  if (!projection) {
    if (!Number.isInteger(zone) || zone < 1 || zone > 60) throw new Error(`UTM zone ${zone} is not in 1..60`);
    const converter = proj4("WGS84", `+proj=utm +zone=${zone} +datum=WGS84 +units=m +no_defs`);
    projection = {
      zone,
      epsg: 32600 + zone,
      forward: (p) => converter.forward([p[0], p[1]]) as [number, number],
      inverse: (p) => converter.inverse([p[0], p[1]]) as [number, number],
    };
    projections.set(zone, projection);
  }
  return projection;
}

/** Longitude of a zone's central meridian. */
export function centralMeridian(zone: number): number {
  return zone * 6 - 183;
}
