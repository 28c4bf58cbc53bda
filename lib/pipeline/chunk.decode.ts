/**
 * The decode thread's task (see chunk.decoder.ts): a chunk row read from S3, its deflated chunks
 * inflated and normalised straight into a shared window row. The main thread neither reads,
 * inflates, normalises nor holds the row's bytes: the response buffers of a row's GET (megabytes,
 * in 64 KiB pieces and then joined) were what prompted most of its full collections.
 */

import type { S3Client } from "@aws-sdk/client-s3";
import type { Config } from "../config/config.schema.ts";
import type { StackHeader } from "../contracts/stack.header.ts";
import { createS3Client } from "../storage/s3.client.ts";
import { getBytesRange, type ObjectRef } from "../storage/s3.objects.ts";
import { decodeChunkSync } from "./stack.format.ts";
import { type Normalization, normalizeChunk, type WindowRow } from "./window.input.ts";

export interface ReadRowTask {
  storage: Pick<Config, "s3">;
  stack: ObjectRef;
  header: Pick<StackHeader, "channels" | "chunk">;
  /** The row's bytes in the stack file, [start, end] inclusive (see chunkRowRange). */
  range: [number, number];
  /** Each chunk's deflated length, in order. */
  lengths: number[];
  /** The row's chunk that the range starts with (0 for a whole row; see splitRowTask). */
  firstChunk?: number;
  normalization: Normalization;
  /** Written in place (shared memory, see sharedWindowRow). */
  into: WindowRow;
}

/** This thread's clients, one per endpoint: a client keeps its connections from row to row. */
const clients = new Map<string, S3Client>();

function clientFor(storage: Pick<Config, "s3">): S3Client {
  const key = JSON.stringify(storage.s3);
  let client = clients.get(key);
  if (!client) {
    client = createS3Client(storage);
    clients.set(key, client);
  }
  return client;
}

/**
 * Reads and decodes a chunk row, or a run of its chunks, into `into`; returns the bytes read (for
 * the process's metrics).
 */
export async function readRow(task: ReadRowTask): Promise<number> {
  const { header, range, lengths, normalization, into, firstChunk = 0 } = task;
  const bytes = await getBytesRange(clientFor(task.storage), task.stack, ...range);
  let at = 0;
  lengths.forEach((length, i) => {
    const chunk = decodeChunkSync(header, bytes.subarray(at, at + length));
    at += length;
    normalizeChunk(chunk, header.channels, normalization, into, firstChunk + i);
  });
  return bytes.byteLength;
}

/**
 * A row's task cut into `parts` runs of whole chunks (as even as they come), each its own byte
 * range, for threads to read and decode side by side into the same row.
 */
export function splitRowTask(task: ReadRowTask, parts: number): ReadRowTask[] {
  const first = task.firstChunk ?? 0;
  const per = Math.ceil(task.lengths.length / parts);
  const out: ReadRowTask[] = [];
  let start = task.range[0];
  for (let from = 0; from < task.lengths.length; from += per) {
    const lengths = task.lengths.slice(from, from + per);
    const bytes = lengths.reduce((a, b) => a + b, 0);
    out.push({ ...task, range: [start, start + bytes - 1], lengths, firstChunk: first + from });
    start += bytes;
  }
  return out;
}
