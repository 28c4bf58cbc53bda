import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import type { GeoTIFFImage } from "geotiff";
import { type LabelSource, labelWindow } from "../accuracy/label.window.ts";
import { ClassPalette, CropClasses } from "../cdl/classes.ts";
import { windowOf } from "../grid/lattice.ts";
import type { Ring } from "../grid/planar.ts";
import { openCog } from "../raster/cog.reader.ts";
import { CogStripWriter } from "../raster/cog.strip.writer.ts";
import type { Raster } from "../raster/raster.types.ts";
import { rasterizeRings } from "../raster/rasterize.ts";
import type { ObjectRef } from "../storage/s3.objects.ts";
import { createMosaic, emptyRollups, type MosaicGrid, pasteTile, type Rollups, rollUp } from "./mosaic.ts";

export interface MosaicTile {
  tileId: string;
  /** The tile map's grid (on the mosaic's lattice). */
  grid: MosaicGrid;
  classes: ObjectRef;
  confidence: ObjectRef;
}

export interface StripMosaicInput {
  grid: MosaicGrid;
  /** The region's outline in the grid's CRS. */
  rings: Ring[];
  /**
   * A part of the region (a state): only pixels inside `within` (when given) and outside `without`
   * (states earlier in the run's order, so a pixel on a shared border belongs to one part only).
   */
  clip?: { within?: Ring[]; without: Ring[][] };
  /** In the order that breaks confidence ties (the first wins). */
  tiles: MosaicTile[];
  labels: LabelSource[];
  /** States to roll accuracy up by (outlines in the grid's CRS); empty for none. */
  states: { name: string; rings: Ring[] }[];
  /** Rows per strip: a multiple of the COG tile size (512). */
  stripRows?: number;
  /** Every n-th pixel goes into `sampled`; by default n keeps the longer side at most 1024. */
  sampleStep?: number;
  /** Where the COGs are written (a folder of this run's own is made under it). */
  tmpRoot: string;
  onStrip?: (rowsDone: number, rows: number) => void;
  /** When given, milliseconds of this thread's time by phase are added to it (benchmarks). */
  profile?: MosaicProfile;
}

/** Main-thread milliseconds by phase; `wait:` phases are time spent waiting for other threads or I/O. */
export type MosaicProfile = Record<string, number>;

export interface StripMosaic {
  /** Folder holding `map.tif` and `confidence.tif`: the caller uploads them, then removes it. */
  dir: string;
  rollups: Rollups;
  ignored: number;
  labelRasters: string[];
  /** Every n-th pixel of map, confidence and region labels: quicklooks and coarse overviews. */
  sampled: {
    classes: Uint8Array;
    confidence: Uint8Array;
    labels: Uint8Array;
    width: number;
    height: number;
    step: number;
  };
}

/** Longer side of the sampled quicklook arrays, in pixels. */
const QuicklookSide = 1024;

/** A window of a tile map as a raster of its own (origin moved to the window's corner). */
async function readTileWindow(
  image: GeoTIFFImage,
  tile: MosaicGrid,
  window: [number, number, number, number],
): Promise<Raster> {
  const [c0, r0, c1, r1] = window;
  const data = (await image.readRasters({ window, samples: [0], interleave: true })) as unknown as Uint8Array;
  const p = tile.pixelSize;
  return {
    width: c1 - c0,
    height: r1 - r0,
    data,
    geo: { epsg: tile.epsg, origin: [tile.origin[0] + c0 * p, tile.origin[1] - r0 * p], pixelSize: p },
  };
}

/**
 * The region's mosaic, accuracy and quicklook samples, built strip by strip so memory follows the
 * strip (rows x the region's width), never the region: for each strip the tile maps that reach it
 * are read with windows and pasted (the more confident prediction wins; ties to the earlier tile),
 * the labels under it are composed from every label raster, and the rollups, the COG writers and
 * the samples take the strip. Pixel for pixel the same as pasting whole tiles into one array.
 */
export async function mosaicInStrips(s3: S3Client, input: StripMosaicInput): Promise<StripMosaic> {
  let mark = performance.now();
  const lap = (phase: string) => {
    const now = performance.now();
    if (input.profile) input.profile[phase] = (input.profile[phase] ?? 0) + now - mark;
    mark = now;
  };
  const { grid, tiles } = input;
  const stripRows = input.stripRows ?? 512;
  const dir = await mkdtemp(join(input.tmpRoot, "mosaic-"));
  const geo = { epsg: grid.epsg, origin: grid.origin, pixelSize: grid.pixelSize };
  const size = { width: grid.width, height: grid.height };
  const writers = {
    classes: await CogStripWriter.create(
      { ...size, geo, data: new Uint8Array(0), nodata: 0 },
      { overviews: "nearest", colorMap: ClassPalette },
      dir,
    ),
    confidence: await CogStripWriter.create(
      { ...size, geo, data: new Uint8Array(0), nodata: 255 },
      { overviews: "average" },
      dir,
    ),
  };
  const step = input.sampleStep ?? Math.max(1, Math.ceil(Math.max(grid.width, grid.height) / QuicklookSide));
  const sampledSize = Math.ceil(grid.width / step) * Math.ceil(grid.height / step);
  const sampled = {
    width: Math.ceil(grid.width / step),
    height: Math.ceil(grid.height / step),
    step,
    classes: new Uint8Array(sampledSize),
    confidence: new Uint8Array(sampledSize).fill(255),
    labels: new Uint8Array(sampledSize),
  };
  const rollups = emptyRollups(tiles.length, input.states.length, CropClasses.length);
  const labelRasters = new Set<string>();
  const open = new Map<number, { classes: GeoTIFFImage; confidence: GeoTIFFImage }>();
  let ignored = 0;
  let writing: Promise<unknown> = Promise.resolve();
  try {
    for (let row0 = 0; row0 < grid.height; row0 += stripRows) {
      const rows = Math.min(stripRows, grid.height - row0);
      const strip: MosaicGrid = {
        ...grid,
        origin: [grid.origin[0], grid.origin[1] - row0 * grid.pixelSize],
        height: rows,
      };
      const inside = rasterizeRings(input.rings, strip);
      if (input.clip) {
        if (input.clip.within) {
          const within = rasterizeRings(input.clip.within, strip);
          for (let i = 0; i < inside.length; i++) if (!within[i]) inside[i] = 0;
        }
        for (const rings of input.clip.without) {
          const earlier = rasterizeRings(rings, strip);
          for (let i = 0; i < inside.length; i++) if (earlier[i]) inside[i] = 0;
        }
      }
      lap("rasterize");
      const mosaic = createMosaic(strip);
      const reaching: { index: number; tile: MosaicTile; window: [number, number, number, number] }[] = [];
      for (const [index, tile] of tiles.entries()) {
        // The part of the strip the tile covers, in the tile's own pixels.
        const { window } = windowOf(strip, tile.grid);
        if (window) reaching.push({ index, tile, window });
        else if (open.has(index) && windowOf(tile.grid, strip).row0 + tile.grid.height <= 0)
          open.delete(index);
      }
      // The tiles under the strip and its labels are read at once, so their GETs overlap; pasting
      // goes in tile order, which breaks confidence ties.
      const [windows, labels] = await Promise.all([
        Promise.all(
          reaching.map(async ({ index, tile, window }) => {
            let images = open.get(index);
            if (!images) {
              // Small blocks: only a strip's worth of each tile map is read at a time.
              const [classes, confidence] = await Promise.all(
                [tile.classes, tile.confidence].map((o) => openCog(s3, o, { blockSize: 256 << 10 })),
              );
              images = { classes: classes as GeoTIFFImage, confidence: confidence as GeoTIFFImage };
              open.set(index, images);
            }
            return Promise.all([
              readTileWindow(images.classes, tile.grid, window),
              readTileWindow(images.confidence, tile.grid, window),
            ]);
          }),
        ),
        labelWindow(s3, input.labels, strip),
      ]);
      lap("wait:read+labels");
      for (const [k, { index }] of reaching.entries()) {
        const [classes, confidence] = windows[k] as [Raster, Raster];
        pasteTile(mosaic, inside, index, classes, confidence);
      }
      lap("paste");
      ignored += labels.ignored;
      for (const r of labels.rasters) labelRasters.add(r);
      let stateOf: Uint8Array | undefined;
      if (input.states.length > 0) {
        stateOf = new Uint8Array(grid.width * rows);
        for (const [s, state] of input.states.entries()) {
          const mask = rasterizeRings(state.rings, strip);
          for (let i = 0; i < mask.length; i++) if (mask[i] && !stateOf[i]) stateOf[i] = s + 1;
        }
      }
      lap("rasterize");
      rollUp(rollups, mosaic, labels.classes, inside, stateOf);
      lap("rollup");
      // The previous strip's tiles are deflated (on libuv's threads) while this one was read and
      // pasted; waiting for them here keeps at most two strips in memory.
      await writing;
      lap("wait:encode");
      writing = Promise.all([
        writers.classes.append(mosaic.classes),
        writers.confidence.append(mosaic.confidence),
      ]);
      // Awaited at the next strip or the end; a failure meanwhile must not count as unhandled.
      writing.catch(() => {});
      lap("encode");
      for (let r = row0 + ((step - (row0 % step)) % step); r < row0 + rows; r += step) {
        for (let x = 0; x < sampled.width; x++) {
          const from = (r - row0) * grid.width + x * step;
          const to = (r / step) * sampled.width + x;
          sampled.classes[to] = mosaic.classes[from] as number;
          sampled.confidence[to] = mosaic.confidence[from] as number;
          sampled.labels[to] = inside[from] ? (labels.classes[from] as number) : 0;
        }
      }
      lap("sample");
      input.onStrip?.(row0 + rows, grid.height);
    }
    await writing;
    await writers.classes.finish(join(dir, "map.tif"));
    await writers.confidence.finish(join(dir, "confidence.tif"));
    lap("finish");
  } catch (error) {
    await writing.catch(() => {});
    await Promise.all([writers.classes.discard(), writers.confidence.discard()]);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, rollups, ignored, labelRasters: [...labelRasters], sampled };
}
