/**
 * The decode thread's task (see chunk.decoder.ts): a chunk row read from S3, its deflated chunks
 * inflated and normalised straight into a shared window row. The main thread neither reads,
 * inflates, normalises nor holds the row's bytes: the response buffers of a row's GET (megabytes,
 * in 64 KiB pieces and then joined) were what prompted most of its full collections.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import type { Config } from "../config/config.schema.ts";
import { createS3Client } from "../storage/s3.client.ts";
import { getBytesRange, type ObjectRef } from "../storage/s3.objects.ts";
import { decodeChunkSync, type StackHeader } from "./stack.format.ts";
import { type Normalization, normalizeChunk, type WindowRow } from "./window.input.ts";

export interface ReadRowTask {
  storage: Pick<Config, "s3">;
  stack: ObjectRef;
  header: Pick<StackHeader, "channels" | "chunk">;
  /** The row's bytes in the stack file, [start, end] inclusive (see chunkRowRange). */
  range: [number, number];
  /** Each chunk's deflated length, in order. */
  lengths: number[];
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

/** Reads and decodes one chunk row into `into`; returns the bytes read (for the process's metrics). */
export async function readRow({ storage, stack, header, range, lengths, normalization, into }: ReadRowTask) {
  const bytes = await getBytesRange(clientFor(storage), stack, ...range);
  let at = 0;
  lengths.forEach((length, cx) => {
    const chunk = decodeChunkSync(header, bytes.subarray(at, at + length));
    at += length;
    normalizeChunk(chunk, header.channels, normalization, into, cx);
  });
  return bytes.byteLength;
}
