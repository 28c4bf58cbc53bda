import type { GeoTIFFImage } from "geotiff";
import { TiffError } from "../errors/reader.errors.ts";
import type { ByteSource } from "../source/byte.source.ts";
import { giveShared, takeShared } from "../threads/shared.buffers.ts";
import type { DecodeJob, RangeTile } from "./cog.decode.tasks.ts";
import { rasterPool } from "./raster.tasks.ts";
import type { PixelArray } from "./raster.types.ts";
import type { TiffLayout } from "./tiff.ifd.ts";

type Window = [number, number, number, number];

/** The geotiff.js internals this reader uses: the file directory's lazily loaded arrays and the source. */
interface ImageInternals {
  isTiled: boolean;
  littleEndian: boolean;
  fileDirectory: {
    getValue(name: string): unknown;
    loadValue(name: string): Promise<ArrayLike<number | bigint>>;
  };
  getArrayForSample(sample: number, sizeOrData: number | ArrayBufferLike): PixelArray;
}

const Deflate = new Set([8, 32946]);

/** Exactly `length` bytes at `offset` of a source, or a TiffError naming it. */
export async function readExactly(source: ByteSource, offset: number, length: number): Promise<Uint8Array> {
  const data = await source.read(offset, length);
  if (data.length !== length)
    throw new TiffError(
      source.name,
      `asked for ${length} bytes at byte ${offset}, the file holds ${data.length}`,
    );
  return data;
}

/** Tiles closer than this in the file are fetched with the read of their neighbours, gap and all. */
const CoalesceGap = 64 << 10;
/** The largest read: big enough that a band is a few requests, small enough to decode as they land. */
const MaxRange = 8 << 20;
/** Compressed bytes a decode task takes: small enough that every thread has a share of a range. */
const DecodePiece = 1 << 20;

/** Tiles in file order, grouped into ranges of adjacent bytes. */
export function coalesce<T extends { offset: number; length: number }>(
  tiles: T[],
): { offset: number; length: number; tiles: T[] }[] {
  const ranges: { offset: number; length: number; tiles: T[] }[] = [];
  for (const tile of [...tiles].sort((a, b) => a.offset - b.offset)) {
    const last = ranges[ranges.length - 1];
    const end = tile.offset + tile.length;
    if (last && tile.offset - (last.offset + last.length) <= CoalesceGap && end - last.offset <= MaxRange) {
      last.length = Math.max(last.length, end - last.offset);
      last.tiles.push(tile);
    } else ranges.push({ offset: tile.offset, length: tile.length, tiles: [tile] });
  }
  return ranges;
}

interface BlockIndex {
  offsets: ArrayLike<number | bigint>;
  lengths: ArrayLike<number | bigint>;
}
const checkedIndexes = new WeakMap<GeoTIFFImage, Promise<BlockIndex>>();

/**
 * The image's block index (tile or strip offsets and byte counts), loaded whole once and checked:
 * every stored block lies inside the file's `size` bytes, so no read or copy is sized past it
 * (geotiff.js allocates a block's byte count before it reads the block). Loading the index at once
 * costs less than entry by entry, which took longer than the pixels on GDAL's 256 px files.
 */
export function blockIndex(
  image: GeoTIFFImage,
  layout: TiffLayout,
  source: ByteSource,
  size: number,
): Promise<BlockIndex> {
  const cached = checkedIndexes.get(image);
  if (cached) return cached;
  const load = async () => {
    const fd = (image as unknown as ImageInternals).fileDirectory;
    const [offsets, lengths] = await Promise.all(
      layout.tiled
        ? [fd.loadValue("TileOffsets"), fd.loadValue("TileByteCounts")]
        : [fd.loadValue("StripOffsets"), fd.loadValue("StripByteCounts")],
    );
    const across = Math.ceil(layout.width / layout.blockWidth);
    const down = Math.ceil(layout.height / layout.blockHeight);
    for (let i = 0; i < layout.blocks; i++) {
      const length = Number(lengths[i] ?? 0);
      const offset = Number(offsets[i] ?? 0);
      if (length > 0 && !(offset + length <= size)) {
        const within = i % (across * down);
        const block = layout.tiled
          ? `tile ${within % across},${Math.floor(within / across)}`
          : `strip ${within}`;
        throw new TiffError(
          source.name,
          `${block} (${length} bytes at byte ${offset}) lies past the end of the ${size}-byte file`,
        );
      }
    }
    return { offsets, lengths };
  };
  const index = load();
  checkedIndexes.set(image, index);
  return index;
}

/** Whether readRasters options ask for what readWindowFast gives: one sample, interleaved, no resampling. */
export function isPlainRead(options: Record<string, unknown>): boolean {
  const samples = options.samples as number[] | undefined;
  return (
    options.interleave === true &&
    (samples === undefined || (samples.length === 1 && samples[0] === 0)) &&
    options.width === undefined &&
    options.height === undefined &&
    options.resampleMethod === undefined &&
    options.fillValue === undefined &&
    options.pool === undefined
  );
}

/**
 * A window of the first sample of a tiled, single-sample, little-endian image compressed with
 * deflate (or not at all) and predictor 1 or 2. Its tiles are fetched with few, large ranged reads
 * (neighbours in the file coalesced) and decoded on the raster threads (native zlib, the predictor
 * on typed arrays, rows copied with TypedArray.set) as each read lands, so both cores decode while
 * the other reads are under way. geotiff.js reads the same pixels one DataView call each, which made
 * it the largest cost of staging and mosaicking. Undefined for any other layout, which geotiff.js
 * then reads itself. `layout` is the directory as tiff.ifd.ts checked it; each tile's place is
 * checked against the file's `size` before it is read, and each tile inflates to its size or the
 * read is refused naming the file and the tile.
 */
export async function readWindowFast(
  image: GeoTIFFImage,
  layout: TiffLayout,
  window: Window,
  source: ByteSource,
  size: number,
  into?: SharedArrayBuffer,
): Promise<PixelArray | undefined> {
  const internals = image as unknown as ImageInternals;
  const fd = internals.fileDirectory;
  const compression = Number(fd.getValue("Compression") ?? 1);
  const predictor = Number(fd.getValue("Predictor") ?? 1);
  const bits = image.getBitsPerSample(0);
  const bytes = bits / 8;
  if (
    !internals.isTiled ||
    image.getSamplesPerPixel() !== 1 ||
    !(compression === 1 || Deflate.has(compression)) ||
    !(predictor === 1 || (predictor === 2 && image.getSampleFormat(0) !== 3)) ||
    ![8, 16, 32].includes(bits) ||
    (bytes > 1 && !internals.littleEndian)
  )
    return undefined;
  const [c0, r0, c1, r1] = window;
  const { blockWidth: tw, blockHeight: th } = layout;
  const across = Math.ceil(layout.width / tw);
  const width = c1 - c0;
  // On shared memory: the raster threads write their tiles' rows straight into it.
  const kind = internals.getArrayForSample(0, 0).constructor as new (
    buffer: SharedArrayBuffer,
    offset?: number,
    length?: number,
  ) => PixelArray;
  const length = width * (r1 - r0);
  const out =
    into && into.byteLength >= length * bytes
      ? new kind(into, 0, length)
      : new kind(new SharedArrayBuffer(length * bytes));
  const nodata = image.getGDALNoData();
  const { offsets, lengths } = await blockIndex(image, layout, source, size);
  const stored: { offset: number; length: number; tx: number; ty: number }[] = [];
  for (let ty = Math.floor(r0 / th); ty < Math.ceil(r1 / th); ty++) {
    for (let tx = Math.floor(c0 / tw); tx < Math.ceil(c1 / tw); tx++) {
      const index = ty * across + tx;
      const length = Number(lengths[index] ?? 0);
      if (length > 0) {
        stored.push({ offset: Number(offsets[index]), length, tx, ty });
        continue;
      }
      // A tile GDAL left out: all nodata, as geotiff.js fills it.
      for (let y = Math.max(r0, ty * th); y < Math.min(r1, (ty + 1) * th); y++) {
        const at = (y - r0) * width + Math.max(c0, tx * tw) - c0;
        out.fill(nodata ?? 0, at, at + Math.min(c1, (tx + 1) * tw) - Math.max(c0, tx * tw));
      }
    }
  }
  const deflate = Deflate.has(compression);
  await Promise.all(
    coalesce(stored).map(async (range) => {
      const fetched = await readExactly(source, range.offset, range.length);
      // Shared, so the range's pieces go to the threads without a copy each; reused once decoded.
      const shared = takeShared(fetched.length);
      const bytes = new Uint8Array(shared, 0, fetched.length);
      bytes.set(fetched);
      const pieces: RangeTile[][] = [[]];
      let pieceBytes = 0;
      for (const t of range.tiles) {
        if (pieceBytes >= DecodePiece) {
          pieces.push([]);
          pieceBytes = 0;
        }
        (pieces[pieces.length - 1] as RangeTile[]).push({
          at: t.offset - range.offset,
          length: t.length,
          tx: t.tx,
          ty: t.ty,
        });
        pieceBytes += t.length;
      }
      const decoded = await Promise.allSettled(
        pieces.map((tiles) =>
          rasterPool().run("decodeTiles", {
            bytes,
            tiles,
            deflate,
            predictor: predictor as 1 | 2,
            tileWidth: tw,
            tileHeight: th,
            window,
            out,
          } satisfies DecodeJob),
        ),
      );
      // Every piece is done with the bytes, failed or not, before another read may have them.
      giveShared(shared);
      for (const piece of decoded) {
        if (piece.status === "rejected") throw piece.reason;
        if (piece.value) throw new TiffError(source.name, piece.value as string);
      }
    }),
  );
  return Object.assign(out, { width, height: r1 - r0 });
}
