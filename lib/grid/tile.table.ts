import { createRequire } from "node:module";
import { z } from "zod";
import { TileIdParser } from "../contracts/tile.id.ts";

/** An HLS tile is 3660 x 3660 pixels of 30 m: 109,800 m on a side. */
export const TilePixels = 3660;
export const PixelSize = 30;
export const TileSize = TilePixels * PixelSize;

/** The shipped table: one row per tile, its id and the upper-left corner of its footprint in UTM. */
export const TileTableParser = z
  .object({
    source: z.string(),
    columns: z.tuple([z.literal("tileId"), z.literal("ulx"), z.literal("uly")]),
    tiles: z.array(z.tuple([TileIdParser, z.number().int(), z.number().int()])),
  })
  .strict();
export type TileTable = z.infer<typeof TileTableParser>;

export interface HlsTile {
  tileId: string;
  zone: number;
  /** WGS 84 / UTM zone north, 326NN. */
  epsg: number;
  /** [minX, minY, maxX, maxY] in the tile's CRS, metres. */
  bounds: [number, number, number, number];
  /** Upper-left corner of the first pixel: the COG geotransform's origin. */
  origin: [number, number];
  width: number;
  height: number;
  pixelSize: number;
}

export function tileFromRow([tileId, ulx, uly]: TileTable["tiles"][number]): HlsTile {
  const zone = Number(tileId.slice(0, 2));
  return {
    tileId,
    zone,
    epsg: 32600 + zone,
    bounds: [ulx, uly - TileSize, ulx + TileSize, uly],
    origin: [ulx, uly],
    width: TilePixels,
    height: TilePixels,
    pixelSize: PixelSize,
  };
}

let tiles: HlsTile[] | undefined;

/** Every tile in the shipped table (the US states, DC and Puerto Rico). */
export function allTiles(): HlsTile[] {
  tiles ??= TileTableParser.parse(createRequire(import.meta.url)("./s2-tiles.us.json")).tiles.map(
    tileFromRow,
  );
  return tiles;
}

export function findTile(tileId: string): HlsTile | undefined {
  return allTiles().find((t) => t.tileId === tileId);
}
