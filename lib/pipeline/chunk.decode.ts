/**
 * The decode thread's task (see chunk.decoder.ts): a chunk row's deflated chunks inflated and
 * normalised straight into a shared window row, so the main thread neither inflates, normalises
 * nor holds the inflated buffers (their garbage was most of its collections).
 */
import { decodeChunkSync, type StackHeader } from "./stack.format.ts";
import { type Normalization, normalizeChunk, type WindowRow } from "./window.input.ts";

export interface DecodeRowTask {
  header: Pick<StackHeader, "channels" | "chunk">;
  /** The row's chunks, one after another, `lengths` bytes each. */
  bytes: Uint8Array;
  lengths: number[];
  normalization: Normalization;
  /** Written in place (shared memory, see sharedWindowRow). */
  into: WindowRow;
}

export function decodeRow({ header, bytes, lengths, normalization, into }: DecodeRowTask): void {
  let at = 0;
  lengths.forEach((length, cx) => {
    const chunk = decodeChunkSync(header, bytes.subarray(at, at + length));
    at += length;
    normalizeChunk(chunk, header.channels, normalization, into, cx);
  });
}
