import type { S3Client } from "@aws-sdk/client-s3";
import type { GeoTIFFImage } from "geotiff";
import { CropClasses } from "../cdl/classes.ts";
import type { Config } from "../config/config.schema.ts";
import type { RegionSpec } from "../contracts/region.spec.ts";
import type { PartRollups } from "../contracts/report.contract.ts";
import { CdlEpsg, transform } from "../grid/crs.ts";
import { clipRingToRect, densify, type Point, type Ring, ringBounds, ringCentroid } from "../grid/planar.ts";
import { findTile } from "../grid/tile.table.ts";
import { imageGrid, openCog } from "../raster/cog.reader.ts";
import { resolveRegion } from "../region/region.ts";
import { albersPolygons } from "../region/state.extent.ts";
import { quicklookStep } from "../report/quicklook.ts";
import { getJson, isNotFound, listAll, type ObjectRef, ref } from "../storage/s3.objects.ts";
import { s3Source } from "../storage/s3.source.ts";
import type { Extent } from "./page/viewer.config.ts";
import { runPrefix } from "./run.catalogue.ts";

export type MapGrid = ReturnType<typeof imageGrid>;

/**
 * Where a run's map is drawn from: map.tif, or for a region mosaicked state by state (which has no
 * map.tif) the regional overview, its pixels sampled from the part maps under `states/` (and
 * `outside/`, for a bbox or polygon reaching outside every state).
 */
export interface RunMap {
  key: "map.tif" | "overview/map.tif";
  grid: MapGrid;
}

async function gridOf(s3: S3Client, object: ObjectRef): Promise<MapGrid | undefined> {
  try {
    return imageGrid(
      await openCog(s3Source(s3, object), { blockSize: 64 << 10 }),
      `s3://${object.bucket}/${object.key}`,
    );
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** The run's map and its grid, from the COG's own header; undefined before the run has written it. */
export async function runMap(
  s3: S3Client,
  config: Pick<Config, "storage">,
  runId: string,
): Promise<RunMap | undefined> {
  for (const key of ["map.tif", "overview/map.tif"] as const) {
    const grid = await gridOf(s3, ref(config.storage.outputs, `${runPrefix(runId)}${key}`));
    if (grid) return { key, grid };
  }
  return undefined;
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

/** A tile's footprint (its UTM square) in EPSG:5070, edges densified so they curve as they should. */
export function tileOutline(tileId: string): Point[] | undefined {
  const tile = findTile(tileId);
  if (!tile) return undefined;
  const [minX, minY, maxX, maxY] = tile.bounds;
  const toAlbers = transform(tile.epsg, CdlEpsg);
  return densify(
    [
      [minX, minY],
      [maxX, minY],
      [maxX, maxY],
      [minX, maxY],
    ],
    5000,
  ).map((p) => toAlbers.forward(p));
}

/** Labels of tiles whose drawn parts share a centre closer than this share of the box's diagonal are one label. */
const SameLabelShare = 0.03;

const metres = (ring: readonly Point[]) =>
  ring.map(([x, y]) => [Math.round(x), Math.round(y)] as [number, number]);

/**
 * The tiles as the map draws them: each footprint cut to `box` (the map's extent, the region's box
 * before there is a map). A tile is some 110 km square and a state's map only the part of its
 * tiles inside the state, so whole squares would run far past the map; the cut keeps what lies on
 * it. Each label sits at the centre of its tile's part; tiles of two UTM zones that cover the same
 * ground (zones overlap at their edges) share one label, a line each, instead of printing over each other.
 */
export function tileLayers<T extends { tileId: string; state: string }>(tiles: T[], box: Extent) {
  const drawn = tiles.flatMap((t) => {
    const outline = tileOutline(t.tileId);
    const part = outline && clipRingToRect(outline, box);
    return part && part.length >= 3 ? [{ ...t, ring: metres(part), centre: ringCentroid(part) }] : [];
  });
  const near = SameLabelShare * Math.hypot(box[2] - box[0], box[3] - box[1]);
  const labels: { at: [number, number]; lines: string[] }[] = [];
  const members: Point[][] = [];
  for (const t of drawn) {
    const i = labels.findIndex((l) => Math.hypot(l.at[0] - t.centre[0], l.at[1] - t.centre[1]) < near);
    if (i < 0) {
      labels.push({ at: metres([t.centre])[0] as [number, number], lines: [`${t.tileId} ${t.state}`] });
      members.push([t.centre]);
      continue;
    }
    const label = labels[i] as (typeof labels)[number];
    const group = members[i] as Point[];
    group.push(t.centre);
    label.lines.push(`${t.tileId} ${t.state}`);
    const mean: Point = [
      group.reduce((a, p) => a + p[0], 0) / group.length,
      group.reduce((a, p) => a + p[1], 0) / group.length,
    ];
    label.at = metres([mean])[0] as [number, number];
  }
  return { tiles: drawn.map(({ centre: _, ...t }) => t), labels };
}

/**
 * The region's outline in EPSG:5070 (every ring, holes too), from the same polygons the tile cover
 * and the label cut use; undefined for a spec that no longer resolves.
 */
export function regionOutline(spec: RegionSpec): { rings: [number, number][][]; bounds: Extent } | undefined {
  let rings: Ring[];
  try {
    rings = albersPolygons(resolveRegion(spec)).flat();
  } catch {
    return undefined;
  }
  const bounds = ringBounds(rings.flat());
  // Drawn as lines: each ring closed again (densify leaves it open).
  const closed = rings.map((ring) => metres([...ring, ring[0] as Point]));
  return { rings: closed, bounds: [bounds[0], bounds[1], bounds[2], bounds[3]] };
}

export interface PixelValue {
  /** The full-resolution map the value was read from, relative to the run's folder. */
  file: string;
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

/** `point`'s pixel in `grid`, or undefined outside it. */
function pixelOf(
  grid: { origin: readonly number[]; pixelSize: number; width: number; height: number },
  [x, y]: Point,
) {
  const col = Math.floor((x - (grid.origin[0] as number)) / grid.pixelSize);
  const row = Math.floor(((grid.origin[1] as number) - y) / grid.pixelSize);
  return col < 0 || row < 0 || col >= grid.width || row >= grid.height ? undefined : { col, row };
}

/**
 * The part maps of a run mosaicked by state: the states, in the order that gives a border pixel to
 * the first, then the cells of a bbox or polygon outside every state (no pixel is in two of those).
 */
async function partMaps(s3: S3Client, config: Pick<Config, "storage">, runId: string) {
  const { outputs } = config.storage;
  const run = `${outputs.prefix}${runPrefix(runId)}`;
  const folders = (
    await Promise.all(
      ["states/", "outside/"].map(async (group) =>
        (await listAll(s3, outputs.bucket, `${run}${group}`, { folders: true })).sort(),
      ),
    )
  ).flat();
  const parts = await Promise.all(
    folders.map(async (folder) => {
      const rollups = (await getJson(s3, { bucket: outputs.bucket, key: `${folder}rollups.json` })) as
        | PartRollups
        | undefined;
      return rollups && { prefix: folder.slice(run.length), grid: rollups.part.grid };
    }),
  );
  return parts.filter((p) => p !== undefined);
}

/**
 * The size of the full-resolution pixels the run's accuracy counts, in metres: map.tif's own, or
 * for a run mosaicked by state its part maps' (the overview's pixels are coarser).
 */
export async function countedPixelSize(
  s3: S3Client,
  config: Pick<Config, "storage">,
  runId: string,
  map: RunMap,
): Promise<number | undefined> {
  if (map.key === "map.tif") return map.grid.pixelSize;
  return (await partMaps(s3, config, runId))[0]?.grid.pixelSize;
}

/**
 * The class and confidence of the map pixel under an EPSG:5070 point, read from the full-resolution
 * maps themselves (not from what the browser drew, which may be an overview): map.tif and
 * confidence.tif, or for a run mosaicked by state the part maps under the point (the first that
 * maps it, as the mosaic gives a border pixel to the first state). Undefined outside the map.
 */
export async function pixelAt(
  s3: S3Client,
  config: Pick<Config, "storage">,
  runId: string,
  map: RunMap,
  point: Point,
): Promise<PixelValue | undefined> {
  if (!pixelOf(map.grid, point)) return undefined;
  const sources =
    map.key === "map.tif" ? [{ prefix: "", grid: map.grid }] : await partMaps(s3, config, runId);
  let found: PixelValue | undefined;
  for (const source of sources) {
    const at = pixelOf(source.grid, point);
    if (!at) continue;
    const open = (name: string) =>
      openCog(s3Source(s3, ref(config.storage.outputs, `${runPrefix(runId)}${source.prefix}${name}`)), {
        blockSize: 64 << 10,
      });
    const [classes, confidence] = await Promise.all([open("map.tif"), open("confidence.tif")]);
    const [classId, percent] = await Promise.all([
      valueAt(classes, at.col, at.row),
      valueAt(confidence, at.col, at.row),
    ]);
    const known = CropClasses.find((c) => c.id === classId);
    found = {
      file: `${source.prefix}map.tif`,
      ...at,
      classId,
      className: known?.name ?? null,
      confidence: known && percent !== 255 ? percent : null,
    };
    if (known) break;
  }
  return found;
}
