import { createWriteStream } from "node:fs";
import { open, stat, statfs } from "node:fs/promises";
import { basename, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { shownUrl } from "../core/shown.url.ts";
import { TooLargeError } from "../errors/reader.errors.ts";
import { isNotFound } from "../storage/s3.objects.ts";
import { CdlInputError } from "./cdl.header.ts";
import { extractEntry, zipEntries } from "./zip.reader.ts";

/** Where a CDL raster comes from, as `cdl import` takes it. */
export type CdlSource =
  | { kind: "file"; path: string }
  | { kind: "s3"; bucket: string; key: string }
  | { kind: "http"; url: string };

/** The source as messages name it: a URL without its query (a presigned URL's signature stays out of logs). */
export function describeSource(source: CdlSource): string {
  if (source.kind === "file") return source.path;
  if (source.kind === "s3") return `s3://${source.bucket}/${source.key}`;
  return shownUrl(source.url);
}

/** Refuses a download whose declared length the disk under `dir` has no room for. */
async function checkFreeSpace(length: number | undefined, dir: string, name: string): Promise<void> {
  if (length === undefined || !Number.isFinite(length)) return;
  const disk = await statfs(dir);
  const free = disk.bavail * disk.bsize;
  if (length > free)
    throw new TooLargeError(
      name,
      `${(length / 1e6).toFixed(1)} MB to download, more than the ${(free / 1e6).toFixed(1)} MB free in ${dir}`,
    );
}

/** A local copy to read: the file itself, or a download into `dir` (reading a GeoTIFF needs seeks). */
async function localCopy(source: CdlSource, s3: S3Client, dir: string): Promise<string> {
  const name = describeSource(source);
  if (source.kind === "file") {
    const found = await stat(source.path).catch(() => undefined);
    if (!found?.isFile()) throw new CdlInputError(`source '${source.path}': no such file`);
    return source.path;
  }
  const path = join(dir, basename(source.kind === "s3" ? source.key : new URL(source.url).pathname) || "cdl");
  if (source.kind === "s3") {
    const response = await s3
      .send(new GetObjectCommand({ Bucket: source.bucket, Key: source.key }))
      .catch((error: unknown) => {
        if (isNotFound(error)) throw new CdlInputError(`source ${name}: no such object`);
        throw error;
      });
    await checkFreeSpace(response.ContentLength, dir, name);
    await pipeline(response.Body as Readable, createWriteStream(path));
    return path;
  }
  const response = await fetch(source.url).catch((error: Error) => {
    throw new Error(
      `source ${name} cannot be fetched: ${(error.cause as Error | undefined)?.message ?? error.message}`,
    );
  });
  if (!response.ok || !response.body)
    throw new CdlInputError(`source ${name}: HTTP ${response.status} ${response.statusText}`);
  const declared = response.headers.get("content-length");
  await checkFreeSpace(declared === null ? undefined : Number(declared), dir, name);
  await pipeline(
    Readable.fromWeb(response.body as import("node:stream/web").ReadableStream),
    createWriteStream(path),
  );
  return path;
}

async function isZip(path: string): Promise<boolean> {
  const file = await open(path, "r");
  try {
    const head = Buffer.alloc(4);
    await file.read(head, 0, 4, 0);
    return head.readUInt32LE(0) === 0x04034b50;
  } finally {
    await file.close();
  }
}

/**
 * The CDL GeoTIFF of a source as a local file, its name, and its label for messages (the source, or
 * `<source>!<entry>` for a zip's): a .zip (USDA's national `{year}_30m_cdls.zip`) is opened and its
 * one GeoTIFF extracted into `dir`.
 */
export async function fetchCdlSource(
  source: CdlSource,
  s3: S3Client,
  dir: string,
): Promise<{ path: string; name: string; label: string }> {
  const path = await localCopy(source, s3, dir);
  if (!(await isZip(path))) return { path, name: basename(path), label: describeSource(source) };
  const name = describeSource(source);
  const entries = await zipEntries(path, name);
  const tifs = entries.filter((e) => /\.tiff?$/i.test(e.name));
  const national = tifs.filter((e) => /_30m_cdls\.tif$/i.test(e.name));
  const entry = national.length === 1 ? national[0] : tifs.length === 1 ? tifs[0] : undefined;
  if (!entry)
    throw new CdlInputError(
      `source ${name}: expected one GeoTIFF in the zip, found ${tifs.length} (${entries
        .slice(0, 10)
        .map((e) => e.name)
        .join(", ")}${entries.length > 10 ? ", ..." : ""})`,
    );
  const extracted = join(dir, basename(entry.name));
  await extractEntry(path, entry, extracted, name);
  return { path: extracted, name: basename(entry.name), label: `${name}!${entry.name}` };
}
