import { randomUUID } from "node:crypto";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { Config } from "../lib/config/config.schema.ts";
import {
  type ProbeStorageInput,
  ProbeStorageInputParser,
  type ProbeStorageResult,
} from "../lib/contracts/storage.contract.ts";
import type { S3Location } from "../lib/core/s3.url.ts";
import { keyUnder } from "../lib/core/s3.url.ts";

/**
 * The archive and CDL locations are inputs: often another party's bucket (LP DAAC's, USDA's
 * copy), where a worker may read and must never write, so they are listed and the first byte of
 * their first object read.
 */
const Inputs = new Set<ProbeStorageInput["location"]>(["hls", "cdl"]);

async function probeRead(s3: S3Client, target: S3Location): Promise<number> {
  const listed = await s3.send(
    new ListObjectsV2Command({ Bucket: target.bucket, Prefix: target.prefix, MaxKeys: 1 }),
  );
  const first = listed.Contents?.[0]?.Key;
  if (!first) return 0;
  const read = await s3.send(new GetObjectCommand({ Bucket: target.bucket, Key: first, Range: "bytes=0-0" }));
  return (await read.Body?.transformToByteArray())?.length ?? 0;
}

async function probeReadWrite(s3: S3Client, target: S3Location): Promise<number> {
  // A random key of its own, so concurrent probes never see each other's objects.
  const key = keyUnder(target, `_probe/${randomUUID()}`);
  const body = `crop-map storage probe ${new Date().toISOString()}`;
  await s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: body }));
  try {
    const read = await s3.send(new GetObjectCommand({ Bucket: target.bucket, Key: key }));
    const text = await read.Body?.transformToString();
    if (text !== body) throw new Error(`s3://${target.bucket}/${key} read back different bytes`);
  } finally {
    await s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: key }));
  }
  return Buffer.byteLength(body);
}

/**
 * Checks from a worker that every configured storage location can be reached with the access the
 * pipeline needs: the first thing to know when a worker host is new.
 */
export function createStorageProbeActivities(s3: S3Client, config: Config) {
  return {
    async probeStorage(raw: ProbeStorageInput): Promise<ProbeStorageResult> {
      const { location } = ProbeStorageInputParser.parse(raw);
      const target = config.storage[location];
      const started = Date.now();
      const readOnly = Inputs.has(location);
      const bytes = readOnly ? await probeRead(s3, target) : await probeReadWrite(s3, target);
      return {
        location,
        url: `s3://${target.bucket}/${target.prefix}`,
        access: readOnly ? "read" : "read-write",
        bytes,
        roundTripMs: Date.now() - started,
      };
    },
  };
}
