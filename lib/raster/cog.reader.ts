import { inflateSync } from "node:zlib";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
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
import type { ObjectRef } from "../storage/s3.objects.ts";
import { isPlainRead, readWindowFast } from "./cog.window.ts";
import { epsgFromGeoKeys, type GeoKeys } from "./geokeys.ts";
import type { PixelArray, Raster } from "./raster.types.ts";

/** Deflate through Node's native zlib: several times faster than geotiff.js's pure-JS inflate. */
class NativeDeflateDecoder extends BaseDecoder {
  override decodeBlock(buffer: ArrayBufferLike): ArrayBufferLike {
    const out = inflateSync(new Uint8Array(buffer));
    return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
  }
}
addDecoder([8, 32946], async () => NativeDeflateDecoder);

/** A response for geotiff.js from bytes already read (a ranged S3 GET, or an HTTP one). */
export class RangeResponse extends BaseResponse {
  constructor(
    private readonly statusCode: number,
    private readonly headers: Record<string, string>,
    private readonly data: Uint8Array,
  ) {
    super();
  }
  override get status(): number {
    return this.statusCode;
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
 * A geotiff.js client that keeps the error of its last failed request. geotiff.js's block cache
 * replaces a failed request's error with `AggregateError("Request failed")` and no cause, which
 * would turn a missing file, a refused login or a transient S3 error into "not a readable COG".
 */
export abstract class RangeClient extends BaseClient {
  failure: unknown;

  override async request(options: RequestInit = {}): Promise<BaseResponse> {
    try {
      return await this.fetchRange(options);
    } catch (error) {
      this.failure = error;
      throw error;
    }
  }

  protected abstract fetchRange(options: RequestInit): Promise<BaseResponse>;
}

/** Runs a read, rethrowing the client's own failure in place of geotiff.js's causeless one. */
async function surfacing<T>(client: RangeClient, read: () => Promise<T>): Promise<T> {
  client.failure = undefined;
  try {
    return await read();
  } catch (error) {
    // geotiff.js's own AggregateError class, not the global one: known by name and message.
    const e = error as Error;
    const causeless = e?.name === "AggregateError" && e.message === "Request failed";
    throw causeless && client.failure !== undefined ? client.failure : error;
  }
}

/** geotiff.js's HTTP client, answered by ranged S3 GETs instead (signed, any endpoint). */
class S3RangeClient extends RangeClient {
  constructor(
    private readonly s3: S3Client,
    private readonly object: ObjectRef,
  ) {
    super(`s3://${object.bucket}/${object.key}`);
  }
  protected override async fetchRange(options: RequestInit): Promise<BaseResponse> {
    const range = new Headers(options.headers).get("range") ?? undefined;
    const response = await this.s3.send(
      new GetObjectCommand({ Bucket: this.object.bucket, Key: this.object.key, Range: range }),
      { abortSignal: options.signal ?? undefined },
    );
    const data = (await response.Body?.transformToByteArray()) ?? new Uint8Array();
    const headers: Record<string, string> = {
      "content-type": response.ContentType ?? "application/octet-stream",
    };
    if (response.ContentRange) headers["content-range"] = response.ContentRange;
    headers["content-length"] = String(data.length);
    return new RangeResponse(response.ContentRange ? 206 : 200, headers, data);
  }
}

/** One ranged GET through the client, outside geotiff.js's block cache (the pixels are read once). */
async function fetchRange(client: RangeClient, offset: number, length: number): Promise<Uint8Array> {
  const response = await client.request({ headers: { range: `bytes=${offset}-${offset + length - 1}` } });
  const data = new Uint8Array(await response.getData());
  if (data.length !== length)
    throw new Error(`${client.url}: asked for ${length} bytes at ${offset}, got ${data.length}`);
  return data;
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
 * A COG read through a geotiff.js client with ranged GETs: the header first, then only the tiles
 * asked for. The default 4 MiB blocks turn a whole-band read into a handful of large GETs rather
 * than one per tile; a caller that reads only the header asks for small blocks instead.
 */
export async function openCogWith(
  client: RangeClient,
  { blockSize = 4 << 20 }: { blockSize?: number } = {},
): Promise<GeoTIFFImage> {
  const options = { allowFullFile: false, maxRanges: 0, blockSize, cacheSize: 16 } as RemoteSourceOptions;
  const image = await surfacing(client, async () => (await fromCustomClient(client, options)).getImage());
  const readRasters = image.readRasters.bind(image);
  image.readRasters = ((options: Parameters<typeof readRasters>[0] = {}) =>
    surfacing(client, async () => {
      const window = options.window ?? [0, 0, image.getWidth(), image.getHeight()];
      const fast = isPlainRead(options)
        ? await readWindowFast(
            image,
            window as [number, number, number, number],
            (offset, length) => fetchRange(client, offset, length),
            (options as WindowInto).into,
          )
        : undefined;
      return fast ?? readRasters(options);
    })) as typeof image.readRasters;
  return image;
}

/** A COG on S3, read with ranged GETs. */
export function openCog(
  s3: S3Client,
  object: ObjectRef,
  options: { blockSize?: number } = {},
): Promise<GeoTIFFImage> {
  return openCogWith(new S3RangeClient(s3, object), options);
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
