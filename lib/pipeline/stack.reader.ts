import type { S3Client } from "@aws-sdk/client-s3";
import type { StackHeader } from "../contracts/stack.header.ts";
import { getBytesRange, type ObjectRef } from "../storage/s3.objects.ts";
import { decodeChunk, parseStackHeader } from "./stack.format.ts";
import { type ChunkRow, withValidity } from "./window.input.ts";

export async function readStackHeader(s3: S3Client, object: ObjectRef): Promise<StackHeader> {
  const first = parseStackHeader(await getBytesRange(s3, object, 0, 65_535));
  if ("grid" in first) return first;
  const whole = parseStackHeader(await getBytesRange(s3, object, 0, first.needBytes - 1));
  if (!("grid" in whole)) throw new Error(`stack header of s3://${object.bucket}/${object.key} is truncated`);
  return whole;
}

/** Where a row of chunks lies in the file: bytes [start, end] (inclusive), each chunk's length. */
export function chunkRowRange(
  header: StackHeader,
  cy: number,
): { range: [number, number]; lengths: number[] } {
  const entries = header.chunks.slice(cy * header.chunksAcross, (cy + 1) * header.chunksAcross);
  const start = entries[0]?.[0] as number;
  const last = entries[entries.length - 1] as [number, number];
  return { range: [start, last[0] + last[1] - 1], lengths: entries.map(([, length]) => length) };
}

/** One row of chunks as stored (deflated), one after another, and each one's length. One ranged GET. */
export async function readChunkBytes(
  s3: S3Client,
  object: ObjectRef,
  header: StackHeader,
  cy: number,
): Promise<{ bytes: Uint8Array; lengths: number[] }> {
  const { range, lengths } = chunkRowRange(header, cy);
  return { bytes: await getBytesRange(s3, object, ...range), lengths };
}

/** One row of chunks, decoded (inflated off the main thread). */
export async function readChunks(
  s3: S3Client,
  object: ObjectRef,
  header: StackHeader,
  cy: number,
): Promise<Int16Array[]> {
  const { bytes, lengths } = await readChunkBytes(s3, object, header, cy);
  let at = 0;
  return Promise.all(
    lengths.map((length) => {
      at += length;
      return decodeChunk(header, bytes.subarray(at - length, at));
    }),
  );
}

/** One row of chunks, decoded, with each chunk's validity mask. */
export async function readChunkRow(
  s3: S3Client,
  object: ObjectRef,
  header: StackHeader,
  cy: number,
): Promise<ChunkRow> {
  return withValidity(header, await readChunks(s3, object, header, cy));
}
