import type { StackHeader } from "./stack.format.ts";
import { StackNodata } from "./stack.format.ts";

/** One decoded row of chunks: data[cx] is channels x chunk x chunk; valid[cx] marks pixels with data in every channel. */
export interface ChunkRow {
  data: Int16Array[];
  valid: Uint8Array[];
}

/** Decoded chunk rows by chunk-row index. */
export type ChunkRows = Map<number, ChunkRow>;

/**
 * A chunk row as windows read it: normalised[cx] as the model takes it ([channel][y][x], chunk x
 * chunk), made once per row (a pixel is in up to four windows, each copying runs of it), and the
 * validity masks.
 */
export interface WindowRow {
  normalized: Float32Array[];
  valid: Uint8Array[];
}

/** Chunk rows ready for windows, by chunk-row index. */
export type WindowRows = Map<number, WindowRow>;

/** Adds the per-pixel "valid in every date" masks to decoded chunks. */
export function withValidity(header: StackHeader, data: Int16Array[]): ChunkRow {
  const plane = header.chunk * header.chunk;
  const valid = data.map((chunk) => {
    const mask = new Uint8Array(plane).fill(1);
    for (let c = 0; c < header.channels; c++) {
      for (let i = 0; i < plane; i++) if (chunk[c * plane + i] === StackNodata) mask[i] = 0;
    }
    return mask;
  });
  return { data, valid };
}

function row(rows: WindowRows, header: StackHeader, y: number): WindowRow {
  const r = rows.get(Math.floor(y / header.chunk));
  if (!r) throw new Error(`chunk row ${Math.floor(y / header.chunk)} is not loaded`);
  return r;
}

/**
 * Rows y0 .. y1 - 1 of the "valid in every date" mask, one after another (width bytes each): only
 * those pixels are mapped.
 */
export function validityRows(rows: WindowRows, header: StackHeader, y0: number, y1: number): Uint8Array {
  const { chunk: k } = header;
  const { width } = header.grid;
  const out = new Uint8Array((y1 - y0) * width);
  for (let y = y0; y < y1; y++) {
    const { valid } = row(rows, header, y);
    const from = (y % k) * k;
    for (let cx = 0; cx * k < width; cx++) {
      const mask = valid[cx] as Uint8Array;
      out.set(mask.subarray(from, from + Math.min(k, width - cx * k)), (y - y0) * width + cx * k);
    }
  }
  return out;
}

/**
 * A decoded chunk row normalised per band ((x - mean) / std, the six values repeated per date) as
 * float32, pixels without data 0 (the mean), and its validity masks, in one pass over the data
 * (one pass for the masks and one to normalise cost four times as much). Written into the arrays
 * of a `spare` row (one no window reads any more) where there is one of the right shape: a chunk
 * row is megabytes, and new ones per row were a stream of garbage.
 */
export function windowRow(
  header: StackHeader,
  data: readonly Int16Array[],
  normalization: Normalization,
  spare: WindowRow[] = [],
): WindowRow {
  const plane = header.chunk * header.chunk;
  const reuse = spare.findIndex(
    (r) => r.normalized.length === data.length && r.normalized[0]?.length === data[0]?.length,
  );
  const into = reuse >= 0 ? (spare.splice(reuse, 1)[0] as WindowRow) : undefined;
  const normalized = data.map((chunk, cx) => into?.normalized[cx] ?? new Float32Array(chunk.length));
  const valid = data.map((_, cx) => into?.valid[cx] ?? new Uint8Array(plane));
  for (let cx = 0; cx < data.length; cx++) {
    const chunk = data[cx] as Int16Array;
    const out = normalized[cx] as Float32Array;
    const mask = (valid[cx] as Uint8Array).fill(1);
    for (let c = 0; c < header.channels; c++) {
      const mean = normalization.mean[c % 6] as number;
      const scale = 1 / (normalization.std[c % 6] as number);
      for (let i = 0, at = c * plane; i < plane; i++, at++) {
        const v = chunk[at] as number;
        if (v === StackNodata) {
          out[at] = 0;
          mask[i] = 0;
        } else out[at] = (v - mean) * scale;
      }
    }
  }
  return { normalized, valid };
}

export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

/**
 * Writes one window of normalised rows (see `windowRow`) into `out` at `offset` as
 * [channel][y][x]. Returns how many pixels of the window have data in every channel.
 */
export function fillWindow(
  out: Float32Array,
  offset: number,
  rows: WindowRows,
  header: StackHeader,
  x0: number,
  y0: number,
  size: number,
): number {
  const k = header.chunk;
  const plane = size * size;
  let validPixels = 0;
  for (let dy = 0; dy < size; dy++) {
    const y = y0 + dy;
    const r = row(rows, header, y);
    const yy = (y % k) * k;
    // Runs of pixels within one chunk.
    for (let dx = 0; dx < size; ) {
      const x = x0 + dx;
      const cx = Math.floor(x / k);
      const run = Math.min(size - dx, k - (x - cx * k));
      const from = yy + (x - cx * k);
      const mask = r.valid[cx] as Uint8Array;
      for (let i = from; i < from + run; i++) validPixels += mask[i] as number;
      const chunk = r.normalized[cx] as Float32Array;
      // A copy loop, not `set` on a `subarray`: thousands of views a window were most of the main
      // thread's garbage.
      for (let c = 0; c < header.channels; c++) {
        for (
          let src = c * k * k + from, to = offset + c * plane + dy * size + dx, end = src + run;
          src < end;
        )
          out[to++] = chunk[src++] as number;
      }
      dx += run;
    }
  }
  return validPixels;
}
