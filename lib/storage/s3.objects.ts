import { createReadStream, createWriteStream } from "node:fs";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { S3Location } from "../core/s3.url.ts";

/** Where an object is: its location's bucket and a full key. */
export interface ObjectRef {
  bucket: string;
  key: string;
}

export function ref(location: S3Location, relativeKey: string): ObjectRef {
  return { bucket: location.bucket, key: `${location.prefix}${relativeKey}` };
}

/** Whether an S3 (or HTTP archive) error says the object does not exist. */
export function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NotFound" || e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404;
}

/** Size of an object, or undefined when there is none (other errors propagate: they may be transient). */
export async function objectSize(s3: S3Client, object: ObjectRef): Promise<number | undefined> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: object.bucket, Key: object.key }));
    return head.ContentLength ?? 0;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Every key under `prefix`, across all pages; with `folders`, every sub-folder instead (the common
 * prefixes at the next "/", each ending in "/").
 */
export async function listAll(
  s3: S3Client,
  bucket: string,
  prefix: string,
  { folders = false }: { folders?: boolean } = {},
): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ContinuationToken: token,
        ...(folders ? { Delimiter: "/" } : {}),
      }),
    );
    if (folders) for (const p of page.CommonPrefixes ?? []) out.push(p.Prefix ?? "");
    else for (const o of page.Contents ?? []) out.push(o.Key ?? "");
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

/**
 * Uploads bytes. `unsignedPayload` leaves the body out of the request's signature (S3's
 * UNSIGNED-PAYLOAD): for bulk writes whose SHA-256 would otherwise be computed on this thread and
 * again by the server (a synthetic world's 9 GB: half its main thread's CPU); TLS, or loopback,
 * still carries the bytes intact.
 */
export async function putBytes(
  s3: S3Client,
  object: ObjectRef,
  body: Uint8Array | string,
  contentType: string,
  { unsignedPayload = false }: { unsignedPayload?: boolean } = {},
): Promise<void> {
  const command = new PutObjectCommand({
    Bucket: object.bucket,
    Key: object.key,
    Body: body,
    ContentType: contentType,
  });
  if (unsignedPayload)
    command.middlewareStack.add(
      (next) => (args) => {
        (args.request as { headers: Record<string, string> }).headers["x-amz-content-sha256"] =
          "UNSIGNED-PAYLOAD";
        return next(args);
      },
      { step: "build", name: "cropMapUnsignedPayload" },
    );
  await s3.send(command);
}

/** Uploads a file from disk in parts, so its size is not held in memory. */
export async function putFile(
  s3: S3Client,
  object: ObjectRef,
  path: string,
  contentType: string,
): Promise<void> {
  await new Upload({
    client: s3,
    params: {
      Bucket: object.bucket,
      Key: object.key,
      Body: createReadStream(path),
      ContentType: contentType,
    },
    partSize: 16 << 20,
    queueSize: 2,
  }).done();
}

export async function putJson(s3: S3Client, object: ObjectRef, value: unknown): Promise<void> {
  await putBytes(s3, object, `${JSON.stringify(value, null, 2)}\n`, "application/json");
}

/** An object's JSON, or undefined when it does not exist. */
export async function getJson(s3: S3Client, object: ObjectRef): Promise<unknown | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }));
    return JSON.parse((await response.Body?.transformToString()) ?? "null");
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export async function getBytes(s3: S3Client, object: ObjectRef): Promise<Uint8Array> {
  const response = await s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }));
  return (await response.Body?.transformToByteArray()) ?? new Uint8Array();
}

/**
 * An object streamed to a local file (a checkpoint: up to gigabytes, never whole in memory); false
 * when there is no such object.
 */
export async function getFile(s3: S3Client, object: ObjectRef, path: string): Promise<boolean> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }));
    await pipeline(response.Body as Readable, createWriteStream(path));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

export async function deleteObject(s3: S3Client, object: ObjectRef): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: object.bucket, Key: object.key }));
}

/** Bytes [start, end] of an object (inclusive, as HTTP ranges are); fewer when the object is shorter. */
export async function getBytesRange(
  s3: S3Client,
  object: ObjectRef,
  start: number,
  end: number,
): Promise<Uint8Array> {
  const response = await s3.send(
    new GetObjectCommand({ Bucket: object.bucket, Key: object.key, Range: `bytes=${start}-${end}` }),
  );
  return (await response.Body?.transformToByteArray()) ?? new Uint8Array();
}
