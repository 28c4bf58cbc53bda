import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import type { GeoTIFFImage } from "geotiff";
import { type LabelSource, labelWindow, type OpenLabelRaster } from "../accuracy/label.window.ts";
import { ClassPalette, CropClasses } from "../cdl/classes.ts";
import type { MosaicGrid } from "../contracts/grid.contract.ts";
import { windowOf } from "../grid/lattice.ts";
import type { Ring } from "../grid/planar.ts";
import { openCog, readWindowInto } from "../raster/cog.reader.ts";
import { CogStripWriter } from "../raster/cog.strip.writer.ts";
import type { Raster } from "../raster/raster.types.ts";
import { ringEdges, scanSpans } from "../raster/rasterize.ts";
import { fillSpans, intersectSpans, type RowSpans, spansMeet, subtractSpans } from "../raster/row.spans.ts";
import type { ObjectRef } from "../storage/s3.objects.ts";
import { s3Source } from "../storage/s3.source.ts";
import { giveShared, takeShared } from "../threads/shared.buffers.ts";
import { emptyRollups, type Mosaic, pasteTile, type Rollups, rollUp } from "./mosaic.ts";

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
  /** Columns per block (a multiple of the COG tile size, 512): memory follows the block, not the width. */
  blockColumns?: number;
  /** Every n-th pixel goes into `sampled`; by default n keeps the longer side at most 1024. */
  sampleStep?: number;
  /** Where the COGs are written (a folder of this run's own is made under it). */
  tmpRoot: string;
  /** zlib level of the COGs' tiles (encodeCog's default, 6, when unset). */
  deflateLevel?: number;
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
/** Rows per strip: one COG tile row. */
const StripRows = 512;
const BlockColumns = 4096;

type Window = [number, number, number, number];
type TileImages = { classes: GeoTIFFImage; confidence: GeoTIFFImage };

/** A window of a tile map as a raster of its own (origin moved to the window's corner), read `into` a buffer. */
async function readTileWindow(
  image: GeoTIFFImage,
  tile: MosaicGrid,
  window: Window,
  into: SharedArrayBuffer,
): Promise<Raster> {
  const [c0, r0, c1, r1] = window;
  const data = (await readWindowInto(image, window, into)) as Uint8Array;
  const p = tile.pixelSize;
  return {
    width: c1 - c0,
    height: r1 - r0,
    data,
    geo: { epsg: tile.epsg, origin: [tile.origin[0] + c0 * p, tile.origin[1] - r0 * p], pixelSize: p },
  };
}

/** The part of `grid` at rows [row0, row0 + rows) and columns [col0, col0 + cols). */
function subGrid(grid: MosaicGrid, col0: number, row0: number, cols: number, rows: number): MosaicGrid {
  const p = grid.pixelSize;
  return {
    ...grid,
    origin: [grid.origin[0] + col0 * p, grid.origin[1] - row0 * p],
    width: cols,
    height: rows,
  };
}

/** The per-pixel arrays of one block, allocated once at the largest block's size and reused. */
function blockArrays(length: number) {
  return {
    inside: new Uint8Array(length),
    stateOf: new Uint8Array(length),
    classes: new Uint8Array(length),
    confidence: new Uint8Array(length),
    owner: new Int16Array(length),
  };
}

/**
 * The region's mosaic, accuracy and quicklook samples, built block by block (512-row strips cut
 * into blocks of `blockColumns`), so the pixels held follow the block, never the region; only the
 * COG writers hold full-width tile rows (see CogStripWriter). For each block the tile maps that
 * reach it are read with windows (decoded on the COG reader's threads) and pasted (the more
 * confident prediction wins; ties to the earlier tile), the labels under it are composed from
 * every label raster, and the rollups, the COG writers (encoding on threads of their own) and the
 * samples take the block; the next block is read while this one is computed. The region, clip
 * and state outlines are scanned once per strip as row spans, only their edges that reach it.
 * Pixel for pixel the same as pasting whole tiles into one array.
 */
export async function mosaicInStrips(s3: S3Client, input: StripMosaicInput): Promise<StripMosaic> {
  const { grid, tiles } = input;
  let mark = performance.now();
  const lap = (phase: string) => {
    const now = performance.now();
    if (input.profile) input.profile[phase] = (input.profile[phase] ?? 0) + now - mark;
    mark = now;
  };
  const blockColumns = Math.min(grid.width, input.blockColumns ?? BlockColumns);
  const dir = await mkdtemp(join(input.tmpRoot, "mosaic-"));
  const geo = { epsg: grid.epsg, origin: grid.origin, pixelSize: grid.pixelSize };
  const size = { width: grid.width, height: grid.height };
  const level = input.deflateLevel === undefined ? {} : { deflateLevel: input.deflateLevel };
  const writers = {
    classes: await CogStripWriter.create(
      { ...size, geo, data: new Uint8Array(0), nodata: 0 },
      { overviews: "nearest", colorMap: ClassPalette, ...level },
      dir,
    ),
    confidence: await CogStripWriter.create(
      { ...size, geo, data: new Uint8Array(0), nodata: 255 },
      { overviews: "average", ...level },
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
  const outlines = {
    region: ringEdges(input.rings),
    within: input.clip?.within ? ringEdges(input.clip.within) : undefined,
    without: (input.clip?.without ?? []).map(ringEdges),
    states: input.states.map((s) => ringEdges(s.rings)),
  };

  // Tile maps stay open from the first block they reach to the last; label rasters for the run.
  const open = new Map<number, Promise<TileImages>>();
  const labelImages = new Map<string, Promise<GeoTIFFImage>>();
  const openLabel: OpenLabelRaster = (raster) => {
    const key = `${raster.bucket}/${raster.key}`;
    let image = labelImages.get(key);
    if (!image) {
      image = openCog(s3Source(s3, raster), { blockSize: 256 << 10 });
      labelImages.set(key, image);
    }
    return image;
  };
  /**
   * Tile maps are read in bands of their own tile rows, each band once: a strip lies across two
   * bands of a tile map whose rows are not aligned with the mosaic's, and the band it shares with
   * the next strip is kept for it rather than decoded again. Keyed by tile, band and block column.
   */
  const bands = new Map<
    string,
    { bottom: number; buffers: SharedArrayBuffer[]; read: Promise<[Raster, Raster]> }
  >();
  /** Buffers of bands no later block needs, given back once the block being computed is pasted. */
  let retired: SharedArrayBuffer[] = [];
  const tileBands = async (index: number, window: Window, blockCol0: number, images: TileImages) => {
    const tile = tiles[index] as MosaicTile;
    const [c0, r0, c1, r1] = window;
    const th = images.classes.getTileHeight();
    // Where the tile's first row sits in the mosaic.
    const top = windowOf(tile.grid, grid).row0;
    const read: Promise<[Raster, Raster]>[] = [];
    for (let ty = Math.floor(r0 / th); ty < Math.ceil(r1 / th); ty++) {
      const key = `${index}:${ty}:${blockCol0}`;
      let band = bands.get(key);
      if (!band) {
        const w: Window = [c0, ty * th, c1, Math.min((ty + 1) * th, tile.grid.height)];
        const buffers = [takeShared((c1 - c0) * (w[3] - w[1])), takeShared((c1 - c0) * (w[3] - w[1]))];
        band = {
          bottom: top + w[3],
          buffers,
          read: Promise.all([
            readTileWindow(images.classes, tile.grid, w, buffers[0] as SharedArrayBuffer),
            readTileWindow(images.confidence, tile.grid, w, buffers[1] as SharedArrayBuffer),
          ]),
        };
        bands.set(key, band);
      }
      read.push(band.read);
    }
    return Promise.all(read);
  };
  /**
   * The outlines of a strip as row spans: inside the region (and the part), and each state's. Kept
   * for the strip's blocks; the next strip's are made when its first block is read ahead.
   */
  const stripSpans = new Map<number, { inside: RowSpans; states: RowSpans[] }>();
  const spansOf = (row0: number) => {
    let spans = stripSpans.get(row0);
    if (!spans) {
      // The strip being computed keeps its spans while the next one's first block is read.
      for (const earlier of stripSpans.keys()) if (earlier < row0 - StripRows) stripSpans.delete(earlier);
      const strip = subGrid(grid, 0, row0, grid.width, Math.min(StripRows, grid.height - row0));
      let inside = scanSpans(outlines.region, strip);
      if (outlines.within) inside = intersectSpans(inside, scanSpans(outlines.within, strip));
      for (const earlier of outlines.without) inside = subtractSpans(inside, scanSpans(earlier, strip));
      // Each pixel in one state: the first listed keeps a shared border pixel.
      const states = outlines.states.map((s) => scanSpans(s, strip));
      spans = { inside, states: states.map((own, s) => states.slice(0, s).reduce(subtractSpans, own)) };
      stripSpans.set(row0, spans);
    }
    return spans;
  };

  /**
   * The tile map bands and labels under a block, their GETs all under way at once. A block with no
   * pixel of the part (a state's box around its outline) reads its labels only: nothing of it is
   * pasted or counted, but its label codes without a class still count in `ignored`.
   */
  const readBlock = async (block: MosaicGrid, col0: number, row0: number) => {
    for (const [key, band] of bands)
      if (band.bottom <= row0) {
        bands.delete(key);
        retired.push(...band.buffers);
      }
    const meets = spansMeet(spansOf(row0).inside, col0, block.width);
    const reaching: { index: number; window: Window }[] = [];
    for (const [index, tile] of tiles.entries()) {
      // The part of the block the tile covers, in the tile's own pixels.
      const { window } = windowOf(block, tile.grid);
      if (window) {
        if (meets) reaching.push({ index, window });
      } else if (windowOf(tile.grid, block).row0 + tile.grid.height <= 0) open.delete(index);
    }
    const [windows, labels] = await Promise.all([
      Promise.all(
        reaching.map(async ({ index, window }) => {
          const tile = tiles[index] as MosaicTile;
          let images = open.get(index);
          if (!images) {
            // Small blocks: geotiff.js keeps the header's block of every tile map open across the
            // strip (its pixels are read apart), and a tile map's header is a few KB.
            images = Promise.all(
              [tile.classes, tile.confidence].map((o) => openCog(s3Source(s3, o), { blockSize: 64 << 10 })),
            ).then(([classes, confidence]) => ({
              classes: classes as GeoTIFFImage,
              confidence: confidence as GeoTIFFImage,
            }));
            open.set(index, images);
          }
          return tileBands(index, window, col0, await images);
        }),
      ),
      labelWindow(s3, input.labels, block, openLabel),
    ]);
    return { meets, reaching, windows, labels };
  };

  const blocks: { col0: number; row0: number; grid: MosaicGrid }[] = [];
  for (let row0 = 0; row0 < grid.height; row0 += StripRows)
    for (let col0 = 0; col0 < grid.width; col0 += blockColumns) {
      const rows = Math.min(StripRows, grid.height - row0);
      const cols = Math.min(blockColumns, grid.width - col0);
      blocks.push({ col0, row0, grid: subGrid(grid, col0, row0, cols, rows) });
    }
  const arrays = blockArrays(StripRows * blockColumns);
  /** Pastes the tile maps into a block with pixels of the part, and counts and samples it. */
  const computeBlock = (
    mosaic: Mosaic,
    read: Awaited<ReturnType<typeof readBlock>>,
    labels: Uint8Array,
    col0: number,
    row0: number,
  ) => {
    const { width: cols, height: rows } = mosaic.grid;
    const n = cols * rows;
    const current = spansOf(row0);
    const inside = arrays.inside.subarray(0, n).fill(0);
    fillSpans(inside, current.inside, col0, cols, 1);
    let stateOf: Uint8Array | undefined;
    if (current.states.length > 0) {
      stateOf = arrays.stateOf.subarray(0, n).fill(0);
      for (const [s, state] of current.states.entries()) fillSpans(stateOf, state, col0, cols, s + 1);
    }
    lap("rasterize");
    mosaic.owner.fill(-1);
    for (const [w, { index }] of read.reaching.entries())
      for (const [classes, confidence] of read.windows[w] as [Raster, Raster][])
        pasteTile(mosaic, inside, index, classes, confidence);
    lap("paste");
    rollUp(rollups, mosaic, labels, inside, stateOf);
    lap("rollup");
    for (let r = (step - (row0 % step)) % step; r < rows; r += step) {
      const to = ((row0 + r) / step) * sampled.width;
      for (let c = (step - (col0 % step)) % step; c < cols; c += step) {
        const from = r * cols + c;
        const at = to + (col0 + c) / step;
        sampled.classes[at] = mosaic.classes[from] as number;
        sampled.confidence[at] = mosaic.confidence[from] as number;
        sampled.labels[at] = inside[from] ? (labels[from] as number) : 0;
      }
    }
    lap("sample");
  };
  let ignored = 0;
  let ahead: ReturnType<typeof readBlock> | undefined;
  try {
    const first = blocks[0] as (typeof blocks)[number];
    ahead = readBlock(first.grid, first.col0, first.row0);
    for (const [k, { col0, row0, grid: block }] of blocks.entries()) {
      const { width: cols, height: rows } = block;
      const n = cols * rows;
      const read = await (ahead as ReturnType<typeof readBlock>);
      lap("wait:read+labels");
      const next = blocks[k + 1];
      ahead = next ? readBlock(next.grid, next.col0, next.row0) : undefined;
      // Awaited at the next block; a failure meanwhile must not count as unhandled.
      ahead?.catch(() => {});

      const mosaic: Mosaic = {
        grid: block,
        classes: arrays.classes.subarray(0, n).fill(0),
        confidence: arrays.confidence.subarray(0, n).fill(255),
        owner: arrays.owner.subarray(0, n),
      };
      const { labels } = read;
      ignored += labels.ignored;
      for (const r of labels.rasters) labelRasters.add(r);
      // A block outside the part stays fill in the COGs and in the samples (made fill).
      if (read.meets) computeBlock(mosaic, read, labels.classes, col0, row0);
      for (const buffer of retired) giveShared(buffer);
      retired = [];
      // The writers copy the block; they wait only while both of a level's tile rows are busy.
      await Promise.all([
        writers.classes.appendBlock(mosaic.classes, col0, cols),
        writers.confidence.appendBlock(mosaic.confidence, col0, cols),
      ]);
      lap("wait:encode");
      if (col0 + cols === grid.width) input.onStrip?.(row0 + rows, grid.height);
    }
    await writers.classes.finish(join(dir, "map.tif"));
    await writers.confidence.finish(join(dir, "confidence.tif"));
    lap("finish");
  } catch (error) {
    await ahead?.catch(() => {});
    await Promise.all([writers.classes.discard(), writers.confidence.discard()]);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, rollups, ignored, labelRasters: [...labelRasters], sampled };
}
