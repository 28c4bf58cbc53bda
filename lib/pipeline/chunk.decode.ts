/**
 * The decode thread's task (see chunk.decoder.ts): a chunk row's deflated chunks inflated and
 * normalised straight into a window row's buffer, so the main thread neither inflates, normalises
 * nor holds the inflated buffers (their garbage was most of its collections).
 */
import { decodeChunkSync, type StackHeader } from "./stack.format.ts";
import { type Normalization, normalizeChunk, windowRowOn } from "./window.input.ts";

export interface DecodeRowTask {
  header: Pick<StackHeader, "channels" | "chunk" | "chunksAcross">;
  /** The row's chunks, one after another, `lengths` bytes each. */
  bytes: Uint8Array;
  lengths: number[];
  normalization: Normalization;
  /** A window row's buffer (see windowRowOn) to write the row into. */
  into: ArrayBuffer;
}

/** The row written into `into`, handed back as one view of all of it (so it moves, see task.thread.mjs). */
export function decodeRow({ header, bytes, lengths, normalization, into }: DecodeRowTask): Uint8Array {
  const row = windowRowOn(header, into);
  let at = 0;
  lengths.forEach((length, cx) => {
    const chunk = decodeChunkSync(header, bytes.subarray(at, at + length));
    at += length;
    normalizeChunk(
      chunk,
      header.channels,
      normalization,
      row.normalized[cx] as Float32Array,
      row.valid[cx] as Uint8Array,
    );
  });
  return new Uint8Array(into);
}
