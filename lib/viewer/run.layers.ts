import type { S3Client } from "@aws-sdk/client-s3";
import type { GeoTIFFImage } from "geotiff";
import { createLabelActivities } from "../../activities/labels.activities.ts";
import { labelWindow } from "../accuracy/label.window.ts";
import { ClassPalette, CropClasses } from "../cdl/classes.ts";
import type { Config } from "../config/config.schema.ts";
import { CdlEpsg, transform } from "../grid/crs.ts";
import { densify, type Point } from "../grid/planar.ts";
import { findTile } from "../grid/tile.table.ts";
import { imageGrid, openCog } from "../raster/cog.reader.ts";
import { mapQuicklook, quicklookStep } from "../report/quicklook.ts";
import { isNotFound, ref } from "../storage/s3.objects.ts";
import type { Extent } from "./page/viewer.config.ts";
import { runPrefix } from "./run.catalogue.ts";

export type MapGrid = ReturnType<typeof imageGrid>;

/** The run's map grid, from map.tif's own header; undefined before the run has written it. */
export async function mapGrid(s3: S3Client, config: Pick<Config, "storage">, runId: string) {
  const object = ref(config.storage.outputs, `${runPrefix(runId)}map.tif`);
  try {
    return imageGrid(
      await openCog(s3, object, { blockSize: 64 << 10 }),
      `s3://${object.bucket}/${object.key}`,
    );
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Where a quicklook of the grid lies: it keeps every n-th pixel, each standing for an n x n block,
 * so its last row and column may reach past the grid's edge.
 */
export function quicklookExtent(grid: MapGrid): Extent {
  const s = quicklookStep(grid.width, grid.height);
  const span = s * grid.pixelSize;
  const [ox, oy] = grid.origin;
  return [ox, oy - Math.ceil(grid.height / s) * span, ox + Math.ceil(grid.width / s) * span, oy];
}

/**
 * The year's CDL labels under the map, as classes in the class palette: a PNG made here, on the
 * map's grid and sampled as disagreement.png is, so the two line up and the browser needs no CDL
 * code table. Undefined when no CDL raster of the year is published.
 */
export async function labelsQuicklook(
  s3: S3Client,
  config: Config,
  year: number,
  grid: MapGrid,
): Promise<Buffer | undefined> {
  const { rasters } = await createLabelActivities(s3, config).labelGrid({ year });
  if (rasters.length === 0) return undefined;
  const { classes } = await labelWindow(s3, rasters, grid);
  return mapQuicklook(classes, grid.width, grid.height, ClassPalette);
}

/** A tile's footprint (its UTM square) in EPSG:5070, edges densified so they curve as they should. */
export function tileOutline(tileId: string): Point[] | undefined {
  const tile = findTile(tileId);
  if (!tile) return undefined;
  const [minX, minY, maxX, maxY] = tile.bounds;
  const toAlbers = transform(tile.epsg, CdlEpsg);
  const ring = densify(
    [
      [minX, minY],
      [maxX, minY],
      [maxX, maxY],
      [minX, maxY],
    ],
    5000,
  ).map((p) => toAlbers.forward(p));
  return [...ring, ring[0] as Point];
}

export interface PixelValue {
  col: number;
  row: number;
  classId: number;
  className: string | null;
  /** Softmax top probability in percent; null where the map has no class. */
  confidence: number | null;
}

async function valueAt(image: GeoTIFFImage, col: number, row: number): Promise<number> {
  const read = (await image.readRasters({
    window: [col, row, col + 1, row + 1],
    samples: [0],
    interleave: true,
  })) as unknown as ArrayLike<number>;
  return read[0] as number;
}

/**
 * The class and confidence of the map pixel under an EPSG:5070 point, read from map.tif and
 * confidence.tif themselves (not from what the browser drew, which may be an overview).
 * Undefined outside the map.
 */
export async function pixelAt(
  s3: S3Client,
  config: Pick<Config, "storage">,
  runId: string,
  grid: MapGrid,
  [x, y]: Point,
): Promise<PixelValue | undefined> {
  const col = Math.floor((x - grid.origin[0]) / grid.pixelSize);
  const row = Math.floor((grid.origin[1] - y) / grid.pixelSize);
  if (col < 0 || row < 0 || col >= grid.width || row >= grid.height) return undefined;
  const open = (name: string) =>
    openCog(s3, ref(config.storage.outputs, `${runPrefix(runId)}${name}`), { blockSize: 64 << 10 });
  const [classes, confidence] = await Promise.all([open("map.tif"), open("confidence.tif")]);
  const [classId, percent] = await Promise.all([valueAt(classes, col, row), valueAt(confidence, col, row)]);
  const known = CropClasses.find((c) => c.id === classId);
  return {
    col,
    row,
    classId,
    className: known?.name ?? null,
    confidence: known && percent !== 255 ? percent : null,
  };
}
