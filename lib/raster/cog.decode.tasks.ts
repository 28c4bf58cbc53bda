/**
 * Task-thread side of the COG window reader (see cog.window.ts and lib/threads/task.pool.ts): the
 * tiles of one ranged GET inflated, their predictor undone and their rows copied into the window,
 * which sits on shared memory, so both cores decode and nothing is copied back.
 */
import { inflateSync } from "node:zlib";
import type { PixelArray } from "./raster.types.ts";

/** A tile inside a fetched range. */
export interface RangeTile {
  /** Byte offset in the range, and compressed length. */
  at: number;
  length: number;
  tx: number;
  ty: number;
}

export interface DecodeJob {
  bytes: Uint8Array;
  tiles: RangeTile[];
  deflate: boolean;
  predictor: 1 | 2;
  tileWidth: number;
  tileHeight: number;
  /** The window [c0, r0, c1, r1] and its pixels, on shared memory. */
  window: [number, number, number, number];
  out: PixelArray;
}

/** Undoes TIFF predictor 2 on rows [y0, y1) of a tile: each sample was stored as its left neighbour's difference. */
function undoHorizontalPredictor(tile: PixelArray, tileWidth: number, y0: number, y1: number): void {
  if (tile instanceof Uint8Array) {
    undoBytePredictor(tile, tileWidth, y0, y1);
    return;
  }
  for (let y = y0; y < y1; y++) {
    const row = y * tileWidth;
    for (let x = 1; x < tileWidth; x++)
      tile[row + x] = (tile[row + x] as number) + (tile[row + x - 1] as number);
  }
}

/**
 * The same for bytes (class maps, confidence, CDL labels: most of what the mosaic decodes), in a
 * loop of its own that carries the running sum rather than reading back what it just stored, and
 * that stays on one array type whatever else the thread decodes: about twice as fast.
 */
function undoBytePredictor(tile: Uint8Array, tileWidth: number, y0: number, y1: number): void {
  for (let y = y0; y < y1; y++) {
    const end = (y + 1) * tileWidth;
    let sum = tile[y * tileWidth] as number;
    for (let x = y * tileWidth + 1; x < end; x++) {
      sum = (sum + (tile[x] as number)) & 0xff;
      tile[x] = sum;
    }
  }
}

/**
 * Decodes the job's tiles into its window. A tile that does not inflate to exactly its size
 * (damaged, or a bomb: the output is capped at the tile's size) is answered as the reason, which
 * the reader turns into a TiffError naming the file: an error's class does not cross threads.
 */
export function decodeTiles(job: DecodeJob): string | undefined {
  const { tileWidth: tw, tileHeight: th, out } = job;
  const [c0, r0, c1, r1] = job.window;
  const width = c1 - c0;
  const kind = out.constructor as {
    new (buffer: ArrayBufferLike, offset: number, length: number): PixelArray;
  };
  const size = tw * th * out.BYTES_PER_ELEMENT;
  for (const { at, length, tx, ty } of job.tiles) {
    const compressed = job.bytes.subarray(at, at + length);
    // One output chunk a byte larger than the tile: zlib's default 16 KB chunks, joined after,
    // took half of the inflate's time.
    let raw: Uint8Array;
    try {
      raw = job.deflate
        ? inflateSync(compressed, { chunkSize: size + 1, maxOutputLength: size })
        : compressed;
    } catch (error) {
      return `tile ${tx},${ty} does not inflate to its ${size} bytes (${(error as Error).message})`;
    }
    if (raw.length < size) return `tile ${tx},${ty} decodes to ${raw.length} bytes, not ${size}`;
    // A copy when the bytes are not aligned for the sample type (an uncompressed tile at an odd offset).
    const aligned = raw.byteOffset % out.BYTES_PER_ELEMENT === 0 ? raw : raw.slice(0, size);
    const tile = new kind(aligned.buffer, aligned.byteOffset, tw * th);
    const y0 = Math.max(r0, ty * th) - ty * th;
    const y1 = Math.min(r1, (ty + 1) * th) - ty * th;
    const x0 = Math.max(c0, tx * tw) - tx * tw;
    const x1 = Math.min(c1, (tx + 1) * tw) - tx * tw;
    if (job.predictor === 2) undoHorizontalPredictor(tile, tw, y0, y1);
    for (let y = y0; y < y1; y++)
      out.set(tile.subarray(y * tw + x0, y * tw + x1), (ty * th + y - r0) * width + (tx * tw + x0 - c0));
  }
  return undefined;
}
