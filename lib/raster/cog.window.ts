import { inflateSync } from "node:zlib";
import type { GeoTIFFImage } from "geotiff";
import type { PixelArray } from "./raster.types.ts";

type Window = [number, number, number, number];

/** The geotiff.js internals this reader uses: the file directory's lazily loaded arrays and the source. */
interface ImageInternals {
  isTiled: boolean;
  littleEndian: boolean;
  fileDirectory: {
    getValue(name: string): unknown;
    loadValueIndexed(name: string, index: number): Promise<number | bigint>;
  };
  source: { fetch(slices: { offset: number; length: number }[]): Promise<ArrayBuffer[]> };
  getArrayForSample(sample: number, sizeOrData: number | ArrayBufferLike): PixelArray;
}

const Deflate = new Set([8, 32946]);

/** Undoes TIFF predictor 2 on rows [y0, y1) of a tile: each sample was stored as its left neighbour's difference. */
function undoHorizontalPredictor(tile: PixelArray, tileWidth: number, y0: number, y1: number): void {
  for (let y = y0; y < y1; y++) {
    const row = y * tileWidth;
    for (let x = 1; x < tileWidth; x++)
      tile[row + x] = (tile[row + x] as number) + (tile[row + x - 1] as number);
  }
}

/**
 * A window of the first sample of a tiled, single-sample, little-endian image compressed with
 * deflate (or not at all) and predictor 1 or 2, decoded with native zlib and copied a tile row at a
 * time with TypedArray.set. geotiff.js reads the same pixels one DataView call each, which made it
 * the largest cost of staging and mosaicking. Undefined for any other layout, which geotiff.js
 * then reads itself.
 */
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

export async function readWindowFast(image: GeoTIFFImage, window: Window): Promise<PixelArray | undefined> {
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
  const tw = image.getTileWidth();
  const th = image.getTileHeight();
  const across = Math.ceil(image.getWidth() / tw);
  const width = c1 - c0;
  const out = internals.getArrayForSample(0, width * (r1 - r0));
  const nodata = image.getGDALNoData();
  const jobs: Promise<void>[] = [];
  for (let ty = Math.floor(r0 / th); ty < Math.ceil(r1 / th); ty++) {
    for (let tx = Math.floor(c0 / tw); tx < Math.ceil(c1 / tw); tx++) {
      jobs.push(
        (async () => {
          const index = ty * across + tx;
          const offset = Number(await fd.loadValueIndexed("TileOffsets", index));
          const length = Number(await fd.loadValueIndexed("TileByteCounts", index));
          const y0 = Math.max(r0, ty * th) - ty * th;
          const y1 = Math.min(r1, (ty + 1) * th) - ty * th;
          const x0 = Math.max(c0, tx * tw) - tx * tw;
          const x1 = Math.min(c1, (tx + 1) * tw) - tx * tw;
          if (length === 0) {
            // A tile GDAL left out: all nodata, as geotiff.js fills it.
            for (let y = y0; y < y1; y++) {
              const at = (ty * th + y - r0) * width + (tx * tw + x0 - c0);
              out.fill(nodata ?? 0, at, at + x1 - x0);
            }
            return;
          }
          const [compressed] = await internals.source.fetch([{ offset, length }]);
          const raw = Deflate.has(compression)
            ? inflateSync(new Uint8Array(compressed as ArrayBuffer))
            : new Uint8Array(compressed as ArrayBuffer);
          if (raw.length < tw * th * bytes)
            throw new Error(`tile ${index} decodes to ${raw.length} bytes, not ${tw * th * bytes}`);
          const tile = internals.getArrayForSample(
            0,
            raw.buffer.slice(raw.byteOffset, raw.byteOffset + tw * th * bytes),
          );
          if (predictor === 2) undoHorizontalPredictor(tile, tw, y0, y1);
          for (let y = y0; y < y1; y++) {
            out.set(
              tile.subarray(y * tw + x0, y * tw + x1),
              (ty * th + y - r0) * width + (tx * tw + x0 - c0),
            );
          }
        })(),
      );
    }
  }
  await Promise.all(jobs);
  return Object.assign(out, { width, height: r1 - r0 });
}
