import { inflateSync } from "node:zlib";
import {
  addDecoder,
  BaseClient,
  BaseDecoder,
  BaseResponse,
  fromCustomClient,
  type GeoTIFFImage,
  type RemoteSourceOptions,
} from "geotiff";
import type { GridGeo } from "../contracts/grid.contract.ts";
import { ReaderError, TiffError } from "../errors/reader.errors.ts";
import type { ByteSource } from "../source/byte.source.ts";
import { blockIndex, isPlainRead, readExactly, readWindowFast } from "./cog.window.ts";
import { epsgFromGeoKeys, type GeoKeys } from "./geokeys.ts";
import type { PixelArray, Raster } from "./raster.types.ts";
import { readTiffLayout } from "./tiff.ifd.ts";

/** A block that does not inflate to its size: readRasters names the file (the decoder cannot). */
class BlockDecodeError extends Error {}

/**
 * Deflate through Node's native zlib: several times faster than geotiff.js's pure-JS inflate.
 * Bounded by the block's size (tile, or strip of RowsPerStrip rows): a 256 px tile that inflates
 * to 64 MB is refused before the 64 MB exist.
 */
class NativeDeflateDecoder extends BaseDecoder {
  override decodeBlock(buffer: ArrayBufferLike): ArrayBufferLike {
    const { tileWidth, tileHeight, bitsPerSample, planarConfiguration } = this.parameters;
    const bits =
      Array.isArray(bitsPerSample) || ArrayBuffer.isView(bitsPerSample)
        ? Array.from(bitsPerSample)
        : [bitsPerSample];
    const pixelBits = planarConfiguration === 2 ? (bits[0] as number) : bits.reduce((a, b) => a + b, 0);
    const expected = Math.ceil((tileWidth * pixelBits) / 8) * tileHeight;
    let out: Buffer;
    try {
      out = inflateSync(new Uint8Array(buffer), { maxOutputLength: Math.max(1, expected) });
    } catch (error) {
      throw new BlockDecodeError(
        `a ${tileWidth} x ${tileHeight} block does not inflate to its ${expected} bytes (${(error as Error).message})`,
      );
    }
    return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
  }
}
addDecoder([8, 32946], async () => NativeDeflateDecoder);

/** A response for geotiff.js from bytes a ByteSource read. */
class RangeResponse extends BaseResponse {
  constructor(
    private readonly headers: Record<string, string>,
    private readonly data: Uint8Array,
  ) {
    super();
  }
  override get status(): number {
    return 206;
  }
  override getHeader(name: string): string | undefined {
    return this.headers[name.toLowerCase()];
  }
  override async getData(): Promise<ArrayBuffer> {
    return this.data.buffer.slice(
      this.data.byteOffset,
      this.data.byteOffset + this.data.byteLength,
    ) as ArrayBuffer;
  }
}

/**
 * geotiff.js's HTTP client, answered by reads of a ByteSource. It keeps the error of its last
 * failed read: geotiff.js's block cache replaces a failed request's error with
 * `AggregateError("Request failed")` and no cause, which would turn a missing file, a refused
 * login or a transient S3 error into "not a readable COG". The head the directory check read is
 * handed to geotiff.js's first request for it, so opening costs one read as before.
 */
class SourceClient extends BaseClient {
  failure: unknown;
  head: Uint8Array | undefined;
  /** The source, its failures kept: the window reader reads through this too. */
  readonly tracked: ByteSource;

  constructor(readonly source: ByteSource) {
    super(source.name);
    this.tracked = {
      name: source.name,
      get size() {
        return source.size;
      },
      read: (offset, length, signal) =>
        source.read(offset, length, signal).catch((error: unknown) => {
          this.failure = error;
          throw error;
        }),
    };
  }

  override async request(options: RequestInit = {}): Promise<BaseResponse> {
    try {
      const range = /^bytes=(\d+)-(\d+)$/.exec(new Headers(options.headers).get("range") ?? "");
      if (!range) throw new Error(`${this.source.name}: geotiff.js asked for no byte range`);
      const offset = Number(range[1]);
      const length = Number(range[2]) - offset + 1;
      const head = this.head;
      this.head = undefined;
      const data =
        head &&
        offset === 0 &&
        length >= head.length &&
        (head.length === length || head.length === this.source.size)
          ? head
          : await this.tracked.read(offset, length, options.signal ?? undefined);
      const headers: Record<string, string> = { "content-length": String(data.length) };
      if (this.source.size !== undefined)
        headers["content-range"] = `bytes ${offset}-${offset + data.length - 1}/${this.source.size}`;
      return new RangeResponse(headers, data);
    } catch (error) {
      this.failure = error;
      throw error;
    }
  }
}

/**
 * Runs a read, rethrowing the client's own failure in place of geotiff.js's causeless one. Where
 * geotiff.js itself refuses the file's bytes (no read failed, nothing of ours refused them), the
 * refusal becomes a TiffError naming the file: `what` says what was being read.
 */
async function surfacing<T>(client: SourceClient, read: () => Promise<T>, what?: string): Promise<T> {
  client.failure = undefined;
  try {
    return await read();
  } catch (error) {
    if (client.failure !== undefined) {
      // geotiff.js's own AggregateError class, not the global one: known by name and message.
      const e = error as Error;
      throw e?.name === "AggregateError" && e.message === "Request failed" ? client.failure : error;
    }
    if (error instanceof BlockDecodeError) throw new TiffError(client.source.name, error.message);
    if (what === undefined || error instanceof ReaderError || (error as Error)?.name === "AbortError")
      throw error;
    throw new TiffError(client.source.name, `${what}: ${(error as Error)?.message ?? String(error)}`);
  }
}

/**
 * readRasters's options may also name a shared buffer to read a plain window into (one sample,
 * interleaved), which the caller reuses; other reads ignore it.
 */
type WindowInto = { into?: SharedArrayBuffer };

/** The first sample of a window of an image opened by openCog, in `into` where it fits (see WindowInto). */
export async function readWindowInto(
  image: GeoTIFFImage,
  window: [number, number, number, number],
  into: SharedArrayBuffer,
): Promise<PixelArray> {
  const options: Parameters<GeoTIFFImage["readRasters"]>[0] & WindowInto = {
    window,
    samples: [0],
    interleave: true,
    into,
  };
  return (await image.readRasters(options)) as unknown as PixelArray;
}

/**
 * A COG (or any TIFF) read from a ByteSource: its header and first directory checked against the
 * file's size (tiff.ifd.ts), then only the tiles asked for. The default 4 MiB blocks turn a
 * whole-band read into a handful of large reads rather than one per tile; a caller that reads only
 * the header asks for small blocks instead.
 */
export async function openCog(
  source: ByteSource,
  { blockSize = 4 << 20 }: { blockSize?: number } = {},
): Promise<GeoTIFFImage> {
  const client = new SourceClient(source);
  const head = await surfacing(client, () => client.tracked.read(0, blockSize));
  const size = head.length < blockSize ? head.length : source.size;
  if (size === undefined) throw new Error(`${source.name}: the source does not know the file's size`);
  client.head = head;
  const layout = await readTiffLayout(
    (offset, length) =>
      offset + length <= head.length
        ? Promise.resolve(head.subarray(offset, offset + length))
        : readExactly(client.tracked, offset, length),
    size,
    source.name,
  );
  const options = { allowFullFile: false, maxRanges: 0, blockSize, cacheSize: 16 } as RemoteSourceOptions;
  const image = await surfacing(
    client,
    async () => (await fromCustomClient(client, options)).getImage(),
    "not a readable TIFF",
  );
  const readRasters = image.readRasters.bind(image);
  image.readRasters = (async (options: Parameters<typeof readRasters>[0] = {}) => {
    const window = options.window ?? [0, 0, image.getWidth(), image.getHeight()];
    const fast = isPlainRead(options)
      ? await surfacing(client, () =>
          readWindowFast(
            image,
            layout,
            window as [number, number, number, number],
            client.tracked,
            size,
            (options as WindowInto).into,
          ),
        )
      : undefined;
    if (fast) return fast;
    await surfacing(client, () => blockIndex(image, layout, client.tracked, size));
    return surfacing(client, () => readRasters(options), "pixels that do not decode");
  }) as typeof image.readRasters;
  return image;
}

/** The EPSG code of an image's CRS, resolved from its GeoKeys (`source` names it in a refusal). */
export function imageEpsg(image: GeoTIFFImage, source: string): number {
  return epsgFromGeoKeys(image.getGeoKeys() as GeoKeys | null, source);
}

/**
 * The whole first band of an image, with its georeferencing from the file itself; an image in a
 * CRS the pipeline does not handle throws UnsupportedCrsError naming `source`.
 */
export async function readRaster(image: GeoTIFFImage, source = "raster"): Promise<Raster> {
  const { width, height, ...geo } = imageGrid(image, source);
  const data = (await image.readRasters({ samples: [0], interleave: true })) as unknown as PixelArray;
  const nodata = image.getGDALNoData();
  return { width, height, data, geo, ...(nodata === null ? {} : { nodata }) };
}

/**
 * An image's grid from its own geotransform and GeoKeys: CRS as `imageEpsg` resolves it, pixels
 * that must be north-up squares (a rotated or stretched raster throws, naming `source`).
 */
export function imageGrid(image: GeoTIFFImage, source: string): GridGeo & { width: number; height: number } {
  const epsg = imageEpsg(image, source);
  const [ox, oy] = image.getOrigin() as [number, number];
  const [rx, ry] = image.getResolution() as [number, number];
  if (Math.abs(rx) !== Math.abs(ry) || ry > 0)
    throw new Error(`${source}: pixels are not north-up squares (${rx} x ${ry})`);
  return {
    epsg,
    origin: [ox, oy],
    pixelSize: Math.abs(rx),
    width: image.getWidth(),
    height: image.getHeight(),
  };
}
