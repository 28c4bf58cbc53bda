/**
 * The TIFF header and first image directory of a file we did not write, checked before geotiff.js
 * or the window reader size anything by them: every value count against the file's size, the
 * dimensions, the tile or strip grid against its offset and byte-count arrays, and the
 * compression, predictor and sample layout against what the decoders take. geotiff.js trusts
 * these fields: a count of 0x4000000 in a 3 KB file allocated 277 MB, a TileWidth of 0 or an
 * offsets array shorter than the grid read as nodata or as another file's pixels. Every refusal is
 * a TiffError naming the file and the field.
 */
import { TiffError } from "../errors/reader.errors.ts";
import { Tag } from "./tiff.tags.ts";

/** Reads exactly `length` bytes at `offset`, which the caller has checked lie inside the file. */
export type ReadBytes = (offset: number, length: number) => Promise<Uint8Array>;

/** What the first image's directory says, checked: the fields its pixels are read by. */
export interface TiffLayout {
  littleEndian: boolean;
  bigTiff: boolean;
  width: number;
  height: number;
  tiled: boolean;
  /** A tile's size, or a strip's (the image's width by RowsPerStrip). */
  blockWidth: number;
  blockHeight: number;
  /** Blocks in the grid: the length of the offsets and byte-count arrays. */
  blocks: number;
  compression: number;
  predictor: number;
  samplesPerPixel: number;
  bitsPerSample: number[];
  sampleFormat: number[];
  planar: number;
}

/** Compressions geotiff.js (or our own window reader) decodes, by name for refusals. */
export const CompressionNames: Record<number, string> = {
  1: "none",
  5: "LZW",
  6: "old-style JPEG",
  7: "JPEG",
  8: "deflate",
  32773: "PackBits",
  32946: "deflate (old code)",
  34887: "LERC",
  50000: "ZSTD",
  50001: "WebP",
};
const PredictorNames: Record<number, string> = { 1: "none", 2: "horizontal", 3: "floating point" };
const SampleFormatNames: Record<number, string> = { 1: "unsigned", 2: "signed", 3: "float" };
/** Field type sizes (TIFF 6.0 and BigTIFF); any other type is refused. */
const FieldTypeSize: Record<number, number> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  13: 4,
  16: 8,
  17: 8,
  18: 8,
};
const IntegerTypes = new Set([1, 3, 4, 16]);
const Ascii = new Set([2]);
const Doubles = new Set([12]);
/**
 * Field types of the tags geotiff.js or we read by value, where another type makes it misread
 * them (a GdalNodata of SHORTs threw a TypeError inside geotiff.js): refused by name.
 */
const TagTypes: Record<number, ReadonlySet<number>> = {
  [Tag.GdalMetadata]: Ascii,
  [Tag.GdalNodata]: Ascii,
  [Tag.ModelPixelScale]: Doubles,
  [Tag.ModelTiepoint]: Doubles,
  [Tag.GeoKeyDirectory]: new Set([3]),
  [Tag.ColorMap]: new Set([3]),
  [Tag.NewSubfileType]: IntegerTypes,
  [Tag.Photometric]: IntegerTypes,
};
const TypeNames: Record<number, string> = { 2: "ASCII", 3: "SHORT", 12: "DOUBLE" };

/** A side longer than this is refused: the national CDL, the largest raster read, is 153,811 px wide. */
export const MaxSide = 1 << 20;
/** Tiles up to this side: GDAL's COG driver writes 256 to 4096. */
export const MaxTileSide = 16384;
/** Directories hold a few dozen tags; more is a damaged or hostile file. */
export const MaxEntries = 1024;
export const MaxSamples = 64;
/** The largest block (tile or strip) decoded at once: a 4096 px tile of float32 is 64 MiB. */
export const MaxBlockBytes = 64 << 20;

const TagNames = Object.fromEntries(Object.entries(Tag).map(([name, tag]) => [tag, name])) as Record<
  number,
  string
>;
const tagName = (tag: number) => `${TagNames[tag] ?? "tag"} (${tag})`;

interface Entry {
  tag: number;
  type: number;
  count: number;
  /** Where the values are: inline in the entry, or at the offset it holds. */
  at: number;
}

class Reader {
  constructor(
    readonly view: DataView,
    readonly littleEndian: boolean,
  ) {}
  u16 = (at: number) => this.view.getUint16(at, this.littleEndian);
  u32 = (at: number) => this.view.getUint32(at, this.littleEndian);
  u64(at: number): number {
    const value = this.view.getBigUint64(at, this.littleEndian);
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(value);
  }
}

const viewOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Checks the header and the first directory of a TIFF of `size` bytes; throws TiffError naming `name`. */
export async function readTiffLayout(read: ReadBytes, size: number, name: string): Promise<TiffLayout> {
  const refuse = (detail: string) => new TiffError(name, detail);
  const within = async (offset: number, length: number, what: string) => {
    if (!(offset >= 0 && offset + length <= size))
      throw refuse(`${what} (${length} bytes at byte ${offset}) lies past the end of the ${size}-byte file`);
    return read(offset, length);
  };
  const head = await within(0, Math.min(size, 16), "the header");
  if (head.length < 8) throw refuse(`not a TIFF (${size} bytes)`);
  const order = String.fromCharCode(head[0] as number, head[1] as number);
  if (order !== "II" && order !== "MM") throw refuse("not a TIFF (no II or MM byte order mark)");
  const header = new Reader(viewOf(head), order === "II");
  const magic = header.u16(2);
  if (magic !== 42 && magic !== 43) throw refuse(`not a TIFF (version ${magic}, not 42 or BigTIFF's 43)`);
  const bigTiff = magic === 43;
  if (bigTiff && (head.length < 16 || header.u16(4) !== 8))
    throw refuse("BigTIFF header damaged (offset size is not 8)");
  const ifdAt = bigTiff ? header.u64(8) : header.u32(4);
  const [countSize, entrySize, inline] = bigTiff ? [8, 20, 8] : [2, 12, 4];
  if (ifdAt < (bigTiff ? 16 : 8))
    throw refuse(`the first directory's offset ${ifdAt} lies inside the header`);
  const countBytes = new Reader(
    viewOf(await within(ifdAt, countSize, "the first directory")),
    header.littleEndian,
  );
  const count = bigTiff ? countBytes.u64(0) : countBytes.u16(0);
  if (count === 0 || count > MaxEntries)
    throw refuse(`the first directory holds ${count} entries (1 to ${MaxEntries} are read)`);
  const table = new Reader(
    viewOf(await within(ifdAt + countSize, count * entrySize, `the first directory's ${count} entries`)),
    header.littleEndian,
  );
  const entries = new Map<number, Entry>();
  for (let i = 0; i < count; i++) {
    const at = i * entrySize;
    const tag = table.u16(at);
    const type = table.u16(at + 2);
    const values = bigTiff ? table.u64(at + 4) : table.u32(at + 4);
    const typeSize = FieldTypeSize[type];
    if (typeSize === undefined)
      throw refuse(`${tagName(tag)} has field type ${type}, which TIFF does not define`);
    const types = TagTypes[tag];
    if (types && !types.has(type))
      throw refuse(
        `${tagName(tag)} is of field type ${type}, not ${[...types].map((t) => TypeNames[t] ?? `type ${t}`).join(" or ")}`,
      );
    const bytes = values * typeSize;
    const valueAt =
      bytes <= inline
        ? ifdAt + countSize + at + (bigTiff ? 12 : 8)
        : bigTiff
          ? table.u64(at + 12)
          : table.u32(at + 8);
    if (bytes > inline && !(valueAt + bytes <= size))
      throw refuse(
        `${tagName(tag)} holds ${values} values at byte ${valueAt}, past the end of the ${size}-byte file`,
      );
    entries.set(tag, { tag, type, count: values, at: valueAt });
  }

  /** Up to `max` integer values of a tag, read from wherever they lie. */
  const integers = async (tag: number, max: number): Promise<number[] | undefined> => {
    const entry = entries.get(tag);
    if (!entry) return undefined;
    if (!IntegerTypes.has(entry.type))
      throw refuse(`${tagName(tag)} is of field type ${entry.type}, not an integer`);
    if (entry.count === 0 || entry.count > max)
      throw refuse(`${tagName(tag)} holds ${entry.count} values (1 to ${max} are read)`);
    const typeSize = FieldTypeSize[entry.type] as number;
    const values = new Reader(
      viewOf(await within(entry.at, entry.count * typeSize, tagName(tag))),
      header.littleEndian,
    );
    return Array.from({ length: entry.count }, (_, i) => {
      const at = i * typeSize;
      return typeSize === 1
        ? values.view.getUint8(at)
        : typeSize === 2
          ? values.u16(at)
          : typeSize === 4
            ? values.u32(at)
            : values.u64(at);
    });
  };
  const scalar = async (tag: number, fallback?: number): Promise<number> => {
    const value = (await integers(tag, 1))?.[0] ?? fallback;
    if (value === undefined) throw refuse(`no ${tagName(tag)}`);
    return value;
  };
  const inRange = (tag: number, value: number, low: number, high: number) => {
    if (!(value >= low && value <= high))
      throw refuse(`${tagName(tag)} ${value} is outside ${low} to ${high}`);
    return value;
  };

  const width = inRange(Tag.ImageWidth, await scalar(Tag.ImageWidth), 1, MaxSide);
  const height = inRange(Tag.ImageLength, await scalar(Tag.ImageLength), 1, MaxSide);
  const samplesPerPixel = inRange(Tag.SamplesPerPixel, await scalar(Tag.SamplesPerPixel, 1), 1, MaxSamples);
  const spread = (tag: number, values: number[] | undefined, fallback: number) => {
    if (!values) return Array<number>(samplesPerPixel).fill(fallback);
    if (values.length === 1) return Array<number>(samplesPerPixel).fill(values[0] as number);
    if (values.length !== samplesPerPixel)
      throw refuse(`${tagName(tag)} holds ${values.length} values for ${samplesPerPixel} samples`);
    return values;
  };
  const bitsPerSample = spread(Tag.BitsPerSample, await integers(Tag.BitsPerSample, MaxSamples), 1);
  for (const bits of bitsPerSample) inRange(Tag.BitsPerSample, bits, 1, 64);
  const sampleFormat = spread(Tag.SampleFormat, await integers(Tag.SampleFormat, MaxSamples), 1);
  for (const format of sampleFormat)
    if (!SampleFormatNames[format])
      throw refuse(
        `SampleFormat (339) ${format} is not one this reader takes (1 unsigned, 2 signed, 3 float)`,
      );
  const compression = await scalar(Tag.Compression, 1);
  if (!CompressionNames[compression])
    throw refuse(
      `Compression (259) ${compression} is not one this reader decodes (${Object.entries(CompressionNames)
        .map(([code, n]) => `${code} ${n}`)
        .join(", ")})`,
    );
  const predictor = await scalar(Tag.Predictor, 1);
  if (!PredictorNames[predictor])
    throw refuse(
      `Predictor (317) ${predictor} is not one TIFF defines (1 none, 2 horizontal, 3 floating point)`,
    );
  const planar = await scalar(Tag.PlanarConfiguration, 1);
  if (planar !== 1 && planar !== 2) throw refuse(`PlanarConfiguration (284) ${planar} is not 1 or 2`);

  const tiled = entries.has(Tag.TileWidth) || entries.has(Tag.TileOffsets);
  const blockWidth = tiled ? inRange(Tag.TileWidth, await scalar(Tag.TileWidth), 1, MaxTileSide) : width;
  const blockHeight = tiled
    ? inRange(Tag.TileLength, await scalar(Tag.TileLength), 1, MaxTileSide)
    : Math.min(height, inRange(Tag.RowsPerStrip, await scalar(Tag.RowsPerStrip, height), 1, 2 ** 32 - 1));
  const pixelBits = planar === 2 ? (bitsPerSample[0] as number) : bitsPerSample.reduce((a, b) => a + b, 0);
  const blockBytes = Math.ceil((blockWidth * pixelBits) / 8) * blockHeight;
  if (blockBytes > MaxBlockBytes)
    throw refuse(
      `a ${blockWidth} x ${blockHeight} block is ${blockBytes} bytes, past the ${MaxBlockBytes} decoded at once`,
    );
  const blocks =
    Math.ceil(width / blockWidth) * Math.ceil(height / blockHeight) * (planar === 2 ? samplesPerPixel : 1);
  const [offsetsTag, countsTag] = tiled
    ? [Tag.TileOffsets, Tag.TileByteCounts]
    : [Tag.StripOffsets, Tag.StripByteCounts];
  for (const tag of [offsetsTag, countsTag]) {
    const entry = entries.get(tag);
    if (!entry) throw refuse(`no ${tagName(tag)}`);
    if (!IntegerTypes.has(entry.type))
      throw refuse(`${tagName(tag)} is of field type ${entry.type}, not an integer`);
    if (entry.count !== blocks)
      throw refuse(
        `${tagName(tag)} holds ${entry.count} values; the ${Math.ceil(width / blockWidth)} x ` +
          `${Math.ceil(height / blockHeight)} grid of ${blockWidth} x ${blockHeight} blocks needs ${blocks}`,
      );
  }
  return {
    littleEndian: header.littleEndian,
    bigTiff,
    width,
    height,
    tiled,
    blockWidth,
    blockHeight,
    blocks,
    compression,
    predictor,
    samplesPerPixel,
    bitsPerSample,
    sampleFormat,
    planar,
  };
}
