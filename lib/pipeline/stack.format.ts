import { promisify } from "node:util";

import { inflate, inflateSync } from "node:zlib";
import { type StackHeader, StackHeaderParser, StackMagic } from "../contracts/stack.header.ts";

const inflateAsync = promisify(inflate);

export function parseStackHeader(prefix: Uint8Array): StackHeader | { needBytes: number } {
  const buf = Buffer.from(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (buf.length < 12 || buf.toString("latin1", 0, 8) !== StackMagic)
    throw new Error("not a staged stack (bad magic)");
  const size = buf.readUInt32LE(8);
  if (buf.length < 12 + size) return { needBytes: 12 + size };
  return StackHeaderParser.parse(JSON.parse(buf.toString("utf8", 12, 12 + size)));
}

/** Values in one chunk: channels x chunk x chunk. */
export function chunkValues(header: Pick<StackHeader, "channels" | "chunk">): number {
  return header.channels * header.chunk * header.chunk;
}

// One output buffer of the chunk's size: zlib's default 16 KiB pieces cost the calling thread a
// callback each and a concatenation.
const inflateOptions = (values: number) => ({ chunkSize: values * 2 + 64 });

function asChunk(raw: Buffer, values: number): Int16Array {
  const out = new Int16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
  if (out.length !== values) throw new Error("chunk has the wrong size");
  return out;
}

/** Decodes one chunk into channels x chunk x chunk int16, inflating on libuv's thread pool. */
export async function decodeChunk(header: StackHeader, bytes: Uint8Array): Promise<Int16Array> {
  const values = chunkValues(header);
  return asChunk(await inflateAsync(bytes, inflateOptions(values)), values);
}

/** decodeChunk on the calling thread (a decode thread's). */
export function decodeChunkSync(
  header: Pick<StackHeader, "channels" | "chunk">,
  bytes: Uint8Array,
): Int16Array {
  const values = chunkValues(header);
  return asChunk(inflateSync(bytes, inflateOptions(values)), values);
}
