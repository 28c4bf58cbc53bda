import { promisify } from "node:util";

import { deflate, inflate, inflateSync } from "node:zlib";
import { z } from "zod";

const inflateAsync = promisify(inflate);

/**
 * A staged tile: the chosen granules warped onto the label grid, `channels` int16 planes
 * (time-major: date 1's six bands, then date 2's, ...), cut into square chunks of one stride so
 * that sliding windows read whole chunks. Layout: 8-byte magic, 4-byte header length, JSON header
 * with every chunk's offset and length, then the chunks row by row, each deflated [channel][y][x].
 * A chunk row is one contiguous range: one GET per row of windows.
 */
export const StackMagic = "CMSTACK1";
export const StackNodata = -9999;

export const StackHeaderParser = z
  .object({
    grid: z
      .object({
        epsg: z.number().int(),
        origin: z.tuple([z.number(), z.number()]),
        pixelSize: z.number(),
        width: z.number().int(),
        height: z.number().int(),
      })
      .strict(),
    channels: z.number().int(),
    chunk: z.number().int(),
    chunksAcross: z.number().int(),
    chunksDown: z.number().int(),
    /** [offset, length] of each chunk from the start of the file, row-major. */
    chunks: z.array(z.tuple([z.number().int(), z.number().int()])),
    /** Pixels valid in every date: the ones the model can map. */
    validPixels: z.number().int(),
  })
  .strict();
export type StackHeader = z.infer<typeof StackHeaderParser>;

const deflateAsync = promisify(deflate);

/**
 * Encodes planes (each width x height int16, StackNodata where invalid) as a stack file. A row of
 * chunks is compressed at a time on libuv's threads, so every core deflates and the raw blocks
 * held at once stay one row.
 */
export async function encodeStack(
  planes: Int16Array[],
  grid: StackHeader["grid"],
  chunk: number,
  validPixels: number,
): Promise<Buffer> {
  const across = Math.ceil(grid.width / chunk);
  const down = Math.ceil(grid.height / chunk);
  const bodies: Buffer[] = [];
  for (let cy = 0; cy < down; cy++) {
    const row: Promise<Buffer>[] = [];
    for (let cx = 0; cx < across; cx++) {
      const block = new Int16Array(planes.length * chunk * chunk).fill(StackNodata);
      planes.forEach((plane, c) => {
        for (let y = 0; y < chunk && cy * chunk + y < grid.height; y++) {
          const row = (cy * chunk + y) * grid.width + cx * chunk;
          const w = Math.min(chunk, grid.width - cx * chunk);
          block.set(plane.subarray(row, row + w), c * chunk * chunk + y * chunk);
        }
      });
      row.push(deflateAsync(Buffer.from(block.buffer), { level: 1 }));
    }
    bodies.push(...(await Promise.all(row)));
  }
  const header = (chunks: [number, number][]) =>
    Buffer.from(
      JSON.stringify({
        grid,
        channels: planes.length,
        chunk,
        chunksAcross: across,
        chunksDown: down,
        chunks,
        validPixels,
      } satisfies StackHeader),
    );
  // Offsets depend on the header's length, which depends on the offsets: settle it by padding.
  let chunks = bodies.map(() => [0, 0] as [number, number]);
  let size = header(chunks).length + 64;
  for (;;) {
    let at = 12 + size;
    chunks = bodies.map((b) => {
      const entry: [number, number] = [at, b.length];
      at += b.length;
      return entry;
    });
    const h = header(chunks);
    if (h.length <= size) {
      const head = Buffer.alloc(12 + size, 0x20);
      head.write(StackMagic, 0, "latin1");
      head.writeUInt32LE(size, 8);
      h.copy(head, 12);
      return Buffer.concat([head, ...bodies]);
    }
    size = h.length + 64;
  }
}

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
