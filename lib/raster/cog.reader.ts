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
import type { ObjectRef } from "../storage/s3.objects.ts";
import { epsgFromGeoKeys, type GeoKeys } from "./geokeys.ts";
import type { GridGeo, PixelArray, Raster } from "./raster.types.ts";

/** Deflate through Node's native zlib: several times faster than geotiff.js's pure-JS inflate. */
class NativeDeflateDecoder extends BaseDecoder {
  override decodeBlock(buffer: ArrayBufferLike): ArrayBufferLike {
    const out = inflateSync(new Uint8Array(buffer));
    return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
  }
}
addDecoder([8, 32946], async () => NativeDeflateDecoder);

class S3RangeResponse extends BaseResponse {
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
 * geotiff.js's HTTP client, answered by ranged S3 GETs instead (signed, any endpoint). geotiff.js
 * reports a failed block only as "Request failed", so the S3 error itself is kept: callers need
 * it to tell a missing file (NoSuchKey) and a transient one (5xx, timeout) from a corrupt file.
 */
class S3RangeClient extends BaseClient {
  failure: unknown;
  constructor(
    private readonly s3: S3Client,
    private readonly object: ObjectRef,
  ) {
    super(`s3://${object.bucket}/${object.key}`);
  }
  override async request(options: RequestInit = {}): Promise<BaseResponse> {
    const range = new Headers(options.headers).get("range") ?? undefined;
    const response = await this.s3
      .send(new GetObjectCommand({ Bucket: this.object.bucket, Key: this.object.key, Range: range }), {
        abortSignal: options.signal ?? undefined,
      })
      .catch((error: unknown) => {
        this.failure ??= error;
        throw error;
      });
    const data = (await response.Body?.transformToByteArray()) ?? new Uint8Array();
    const headers: Record<string, string> = {
      "content-type": response.ContentType ?? "application/octet-stream",
    };
    if (response.ContentRange) headers["content-range"] = response.ContentRange;
    headers["content-length"] = String(data.length);
    return new S3RangeResponse(response.ContentRange ? 206 : 200, headers, data);
  }
}

const clients = new WeakMap<GeoTIFFImage, S3RangeClient>();

/** Runs a read, rethrowing the S3 error behind a failure rather than geotiff.js's summary of it. */
async function withS3Failure<T>(client: S3RangeClient | undefined, read: () => Promise<T>): Promise<T> {
  if (client) client.failure = undefined;
  try {
    return await read();
  } catch (error) {
    throw client?.failure ?? error;
  }
}

/**
 * A COG on S3, read with ranged GETs: the header first, then only the tiles asked for. The default
 * 4 MiB blocks turn a whole-band read into a handful of large GETs rather than one per tile; a
 * caller that reads only the header asks for small blocks instead.
 */
export async function openCog(
  s3: S3Client,
  object: ObjectRef,
  { blockSize = 4 << 20 }: { blockSize?: number } = {},
): Promise<GeoTIFFImage> {
  const options = { allowFullFile: false, maxRanges: 0, blockSize, cacheSize: 16 } as RemoteSourceOptions;
  const client = new S3RangeClient(s3, object);
  const image = await withS3Failure(client, async () => (await fromCustomClient(client, options)).getImage());
  clients.set(image, client);
  return image;
}

/** `image.readRasters`, failing with the storage error itself when a ranged read fails. */
export function readImage(image: GeoTIFFImage, options: Parameters<GeoTIFFImage["readRasters"]>[0]) {
  return withS3Failure(clients.get(image), () => image.readRasters(options));
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
  const data = (await readImage(image, { samples: [0], interleave: true })) as unknown as PixelArray;
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
