import { promisify } from "node:util";
import { deflate, deflateSync } from "node:zlib";
import { halve, type Resampling } from "./overviews.ts";
import type { PixelArray, Raster } from "./raster.types.ts";
import {
  Compression,
  FieldSize,
  FieldType,
  type FieldTypeCode,
  GeoKey,
  LinearMeter,
  ModelTypeProjected,
  Photometric,
  RasterPixelIsArea,
  SampleFormat,
  Tag,
} from "./tiff.tags.ts";

const deflateAsync = promisify(deflate);

/** The media type of a Cloud-Optimized GeoTIFF, for uploads. */
export const CogContentType = "image/tiff; application=geotiff; profile=cloud-optimized";

export interface CogOptions {
  /** Internal tile size in pixels (GDAL's COG default is 512). */
  tileSize?: number;
  /** Overviews down to one tile, or none. */
  overviews?: Resampling | "none";
  /** Palette for uint8 rasters: index -> [r, g, b] in 0..255. */
  colorMap?: readonly (readonly [number, number, number])[];
  /** GDAL dataset metadata items (HLS keeps scale_factor, _FillValue and the like here). */
  metadata?: Record<string, string>;
  /** Band scale and offset as GDAL records them (physical = raw * scale + offset). */
  scale?: number;
  offset?: number;
  deflateLevel?: number;
  /**
   * Compress on the calling thread. Right on a task thread, whose parallelism is its pool's: the
   * default hands every tile to libuv's pool, which costs a thread hop per 16 KB of output (about
   * a fifth of level 1's time); the bytes are the same either way.
   */
  syncDeflate?: boolean;
}

interface Entry {
  tag: number;
  type: FieldTypeCode;
  values: number[] | string;
}

/** One level of the pyramid as the file's layout needs it: its size and its tiles' compressed lengths. */
export interface LevelLayout {
  width: number;
  height: number;
  tileLengths: number[];
}

/** What the IFDs say of the raster besides its levels: pixel type, georeferencing, nodata. */
export type RasterHead = Pick<Raster, "data" | "geo" | "nodata">;

function sampleFormat(data: PixelArray): { bits: number; format: number } {
  if (data instanceof Uint8Array) return { bits: 8, format: SampleFormat.Uint };
  if (data instanceof Uint16Array) return { bits: 16, format: SampleFormat.Uint };
  if (data instanceof Int16Array) return { bits: 16, format: SampleFormat.Int };
  return { bits: 32, format: SampleFormat.Float };
}

/**
 * One tile's bytes before compression: cut (padded with nodata to full size) and, with the
 * predictor, each sample stored as the difference from its left neighbour (TIFF predictor 2),
 * computed while copying so each pixel is touched once. Into `into` (of data's type, size x size,
 * whatever it holds) when given: a thread that deflates tiles one after another reuses one.
 */
export function cutTile(
  data: PixelArray,
  width: number,
  height: number,
  tx: number,
  ty: number,
  size: number,
  fill: number,
  predictor: boolean,
  into?: PixelArray,
): Buffer {
  const tile = into ?? new (data.constructor as new (n: number) => PixelArray)(size * size);
  const x0 = tx * size;
  const y0 = ty * size;
  const w = Math.min(size, width - x0);
  // The fill as the pixel type holds it (a differences' operand must be the stored value).
  tile[0] = fill;
  const stored = tile[0] as number;
  for (let y = 0; y < size; y++) {
    const at = y * size;
    const from = (y0 + y) * width + x0;
    const inside = y0 + y < height;
    if (!predictor) {
      if (inside) tile.set(data.subarray(from, from + w), at);
      if (inside ? w < size : true) tile.fill(stored, inside ? at + w : at, at + size);
      continue;
    }
    if (!inside) {
      // A row of fill: the fill, then differences of 0.
      tile[at] = stored;
      tile.fill(0, at + 1, at + size);
      continue;
    }
    let left = data[from] as number;
    tile[at] = left;
    for (let x = 1; x < w; x++) {
      const v = data[from + x] as number;
      tile[at + x] = v - left;
      left = v;
    }
    if (w < size) {
      tile[at + w] = stored - left;
      tile.fill(0, at + w + 1, at + size);
    }
  }
  return Buffer.from(tile.buffer, tile.byteOffset, tile.byteLength);
}

/** The compressed tiles of `height` rows of a level, in row-major order. */
export function encodeTiles(
  data: PixelArray,
  width: number,
  height: number,
  size: number,
  fill: number,
  options: CogOptions,
): Promise<Buffer[]> {
  const across = Math.ceil(width / size);
  const down = Math.ceil(height / size);
  const predictor = !(data instanceof Float32Array);
  const level = options.deflateLevel ?? 6;
  // Compressed at once, each tile is cut into the same scratch; queued to libuv, each needs its own.
  const scratch = options.syncDeflate
    ? new (data.constructor as new (n: number) => PixelArray)(size * size)
    : undefined;
  const jobs: Promise<Buffer>[] = [];
  for (let ty = 0; ty < down; ty++) {
    for (let tx = 0; tx < across; tx++) {
      const tile = cutTile(data, width, height, tx, ty, size, fill, predictor, scratch);
      jobs.push(scratch ? Promise.resolve(deflateSync(tile, { level })) : deflateAsync(tile, { level }));
    }
  }
  return Promise.all(jobs);
}

/**
 * Compressed tiles as they sit in the file, one after another behind `head`: each with GDAL's
 * leader (its size) and trailer (its last 4 bytes again). One buffer, each byte written once.
 */
export function packTiles(tiles: readonly Uint8Array[], head: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.allocUnsafe(tiles.reduce((n, t) => n + 4 + t.length + 4, head.length));
  out.set(head, 0);
  let at = head.length;
  for (const tile of tiles) {
    out.writeUInt32LE(tile.length, at);
    out.set(tile, at + 4);
    at += 4 + tile.length;
    // A tile under 4 bytes (none that deflate writes) has its trailer padded with zeros.
    out.fill(0, at, at + 4);
    out.set(tile.subarray(Math.max(0, tile.length - 4)), at);
    at += 4;
  }
  return out;
}

/** Sizes of the levels: full resolution, then halves down to one tile (when overviews are asked for). */
export function levelSizes(
  width: number,
  height: number,
  size: number,
  overviews: boolean,
): [number, number][] {
  const sizes: [number, number][] = [[width, height]];
  let [w, h] = [width, height];
  while (overviews && (w > size || h > size)) {
    [w, h] = [Math.ceil(w / 2), Math.ceil(h / 2)];
    sizes.push([w, h]);
  }
  return sizes;
}

function gdalMetadataXml(options: CogOptions): string | undefined {
  const items: string[] = [];
  for (const [name, value] of Object.entries(options.metadata ?? {}))
    items.push(`<Item name="${name}">${value}</Item>`);
  if (options.scale !== undefined)
    items.push(`<Item name="SCALE" sample="0" role="scale">${options.scale}</Item>`);
  if (options.offset !== undefined)
    items.push(`<Item name="OFFSET" sample="0" role="offset">${options.offset}</Item>`);
  return items.length ? `<GDALMetadata>${items.join("")}</GDALMetadata>` : undefined;
}

/**
 * GDAL's marker that the file follows the COG layout: IFDs first, tiles in row-major order, each
 * tile preceded by its size (4 bytes) and followed by a copy of its last 4 bytes, so a reader can
 * fetch a tile without the offset arrays and check it arrived whole. GDAL then reports LAYOUT=COG.
 */
function ghostArea(): Buffer {
  const body =
    "LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\nBLOCK_TRAILER=LAST_4_BYTES_REPEATED\nKNOWN_INCOMPATIBLE_EDITION=NO\n";
  const head = `GDAL_STRUCTURAL_METADATA_SIZE=${String(body.length).padStart(6, "0")} bytes\n`;
  return Buffer.from(head + body, "ascii");
}

function levelEntries(
  raster: RasterHead,
  level: LevelLayout,
  index: number,
  size: number,
  options: CogOptions,
  samples: number,
): Entry[] {
  const { bits, format } = sampleFormat(raster.data);
  const palette = options.colorMap && raster.data instanceof Uint8Array && samples === 1;
  const each = (value: number) => Array.from({ length: samples }, () => value);
  const entries: Entry[] = [
    { tag: Tag.NewSubfileType, type: FieldType.LONG, values: [index === 0 ? 0 : 1] },
    { tag: Tag.ImageWidth, type: FieldType.LONG, values: [level.width] },
    { tag: Tag.ImageLength, type: FieldType.LONG, values: [level.height] },
    { tag: Tag.BitsPerSample, type: FieldType.SHORT, values: each(bits) },
    { tag: Tag.Compression, type: FieldType.SHORT, values: [Compression.Deflate] },
    {
      tag: Tag.Photometric,
      type: FieldType.SHORT,
      values: [palette ? Photometric.Palette : Photometric.MinIsBlack],
    },
    { tag: Tag.SamplesPerPixel, type: FieldType.SHORT, values: [samples] },
    { tag: Tag.PlanarConfiguration, type: FieldType.SHORT, values: [samples > 1 ? 2 : 1] },
    { tag: Tag.Predictor, type: FieldType.SHORT, values: [format === SampleFormat.Float ? 1 : 2] },
    { tag: Tag.TileWidth, type: FieldType.SHORT, values: [size] },
    { tag: Tag.TileLength, type: FieldType.SHORT, values: [size] },
    { tag: Tag.TileOffsets, type: FieldType.LONG, values: level.tileLengths.map(() => 0) },
    { tag: Tag.TileByteCounts, type: FieldType.LONG, values: level.tileLengths },
    { tag: Tag.SampleFormat, type: FieldType.SHORT, values: each(format) },
  ];
  // Bands past the first are plain data, not colour channels or alpha (ExtraSamples 0, as GDAL writes).
  if (samples > 1) entries.push({ tag: Tag.ExtraSamples, type: FieldType.SHORT, values: each(0).slice(1) });
  if (palette && options.colorMap) {
    const channel = (c: 0 | 1 | 2) =>
      Array.from({ length: 256 }, (_, i) => Math.round(((options.colorMap?.[i]?.[c] ?? 0) * 65535) / 255));
    entries.push({
      tag: Tag.ColorMap,
      type: FieldType.SHORT,
      values: [...channel(0), ...channel(1), ...channel(2)],
    });
  }
  if (index === 0) {
    const { epsg, origin, pixelSize } = raster.geo;
    entries.push(
      { tag: Tag.ModelPixelScale, type: FieldType.DOUBLE, values: [pixelSize, pixelSize, 0] },
      { tag: Tag.ModelTiepoint, type: FieldType.DOUBLE, values: [0, 0, 0, origin[0], origin[1], 0] },
      {
        tag: Tag.GeoKeyDirectory,
        type: FieldType.SHORT,
        values: [
          1,
          1,
          0,
          4,
          GeoKey.GTModelType,
          0,
          1,
          ModelTypeProjected,
          GeoKey.GTRasterType,
          0,
          1,
          RasterPixelIsArea,
          GeoKey.ProjectedCSType,
          0,
          1,
          epsg,
          GeoKey.ProjLinearUnits,
          0,
          1,
          LinearMeter,
        ],
      },
    );
    const xml = gdalMetadataXml(options);
    if (xml) entries.push({ tag: Tag.GdalMetadata, type: FieldType.ASCII, values: `${xml}\0` });
  }
  if (raster.nodata !== undefined)
    entries.push({ tag: Tag.GdalNodata, type: FieldType.ASCII, values: `${raster.nodata}\0` });
  return entries.sort((a, b) => a.tag - b.tag);
}

function valueBytes(entry: Entry): number {
  const count = typeof entry.values === "string" ? entry.values.length : entry.values.length;
  return count * FieldSize[entry.type];
}

function writeValues(buf: Buffer, at: number, entry: Entry): void {
  if (typeof entry.values === "string") {
    buf.write(entry.values, at, "latin1");
    return;
  }
  entry.values.forEach((v, i) => {
    if (entry.type === FieldType.SHORT) buf.writeUInt16LE(v, at + i * 2);
    else if (entry.type === FieldType.LONG) buf.writeUInt32LE(v, at + i * 4);
    else buf.writeDoubleLE(v, at + i * 8);
  });
}

/**
 * Everything before the tile data of a COG whose levels are laid out as given: header, GDAL's
 * ghost area, every IFD (full resolution first, then overviews) with its values, and the offsets
 * of tiles that follow it level by level, smallest overview first, each tile packed by packTiles.
 * A reader of the full image then reads one contiguous run at the end.
 */
export function cogHeader(
  raster: RasterHead,
  levels: LevelLayout[],
  size: number,
  options: CogOptions,
  /** Bands of the image; past one they are stored band after band (a level's tiles band-major). */
  samples = 1,
): { header: Buffer; bytes: number } {
  const ghost = ghostArea();
  const ifds = levels.map((level, i) => levelEntries(raster, level, i, size, options, samples));
  let cursor = 8 + ghost.length;
  const ifdOffsets: number[] = [];
  const valueOffsets: Map<Entry, number>[] = [];
  for (const entries of ifds) {
    cursor += cursor % 2; // IFDs start on a word boundary (TIFF 6.0), whatever came before
    ifdOffsets.push(cursor);
    cursor += 2 + entries.length * 12 + 4;
    const offsets = new Map<Entry, number>();
    for (const entry of entries) {
      if (valueBytes(entry) > 4) {
        cursor += cursor % 2; // word-align values, as TIFF asks
        offsets.set(entry, cursor);
        cursor += valueBytes(entry);
      }
    }
    valueOffsets.push(offsets);
  }
  const headerBytes = cursor;
  for (let l = levels.length - 1; l >= 0; l--) {
    const offsets = (ifds[l] as Entry[]).find((e) => e.tag === Tag.TileOffsets) as Entry;
    offsets.values = (levels[l] as LevelLayout).tileLengths.map((length) => {
      const at = cursor + 4;
      cursor += 4 + length + 4;
      return at;
    });
  }

  const out = Buffer.alloc(headerBytes);
  out.write("II", 0, "latin1");
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(ifdOffsets[0] as number, 4);
  ghost.copy(out, 8);
  ifds.forEach((entries, i) => {
    let at = ifdOffsets[i] as number;
    out.writeUInt16LE(entries.length, at);
    at += 2;
    for (const entry of entries) {
      out.writeUInt16LE(entry.tag, at);
      out.writeUInt16LE(entry.type, at + 2);
      const count = typeof entry.values === "string" ? entry.values.length : entry.values.length;
      out.writeUInt32LE(count, at + 4);
      const outOfLine = valueOffsets[i]?.get(entry);
      if (outOfLine === undefined) writeValues(out, at + 8, entry);
      else {
        out.writeUInt32LE(outOfLine, at + 8);
        writeValues(out, outOfLine, entry);
      }
      at += 12;
    }
    out.writeUInt32LE(ifdOffsets[i + 1] ?? 0, at);
  });
  return { header: out, bytes: cursor };
}

/**
 * Encodes a single-band raster held in memory as a Cloud-Optimized GeoTIFF: tiled, deflate with
 * predictor, the layout of cogHeader. Rasters too large to hold go through CogStripWriter.
 */
export async function encodeCog(raster: Raster, options: CogOptions = {}): Promise<Buffer> {
  const size = options.tileSize ?? 512;
  const fill = raster.nodata ?? 0;
  const sizes = levelSizes(raster.width, raster.height, size, (options.overviews ?? "none") !== "none");
  const tiles: Buffer[][] = [];
  let current = { data: raster.data, width: raster.width, height: raster.height };
  for (const [l] of sizes.entries()) {
    if (l > 0)
      current = halve(
        current.data,
        current.width,
        current.height,
        options.overviews as Resampling,
        raster.nodata,
      );
    tiles.push(await encodeTiles(current.data, current.width, current.height, size, fill, options));
  }
  const levels = sizes.map(([width, height], l) => ({
    width,
    height,
    tileLengths: (tiles[l] as Buffer[]).map((t) => t.length),
  }));
  const { header } = cogHeader(raster, levels, size, options);
  return packTiles(tiles.reverse().flat(), header);
}

/**
 * Encodes same-sized bands of one type as one multi-band GeoTIFF (a training chip's 18 bands):
 * the layout of encodeCog without overviews, the bands stored one after another (planar), so
 * each band's tiles are those encodeTiles makes for a single band.
 */
export async function encodeBands(bands: readonly Raster[], options: CogOptions = {}): Promise<Buffer> {
  const first = bands[0];
  if (!first) throw new Error("encodeBands: no band");
  for (const band of bands)
    if (
      band.width !== first.width ||
      band.height !== first.height ||
      band.data.constructor !== first.data.constructor
    )
      throw new Error("encodeBands: bands differ in size or type");
  const size = options.tileSize ?? 512;
  const fill = first.nodata ?? 0;
  const tiles = (
    await Promise.all(bands.map((b) => encodeTiles(b.data, b.width, b.height, size, fill, options)))
  ).flat();
  const level = { width: first.width, height: first.height, tileLengths: tiles.map((t) => t.length) };
  const { header } = cogHeader(first, [level], size, { ...options, overviews: "none" }, bands.length);
  return packTiles(tiles, header);
}
