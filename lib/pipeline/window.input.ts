import type { StackHeader } from "./stack.format.ts";
import { StackNodata } from "./stack.format.ts";

/** One decoded row of chunks: data[cx] is channels x chunk x chunk; valid[cx] marks pixels with data in every channel. */
export interface ChunkRow {
  data: Int16Array[];
  valid: Uint8Array[];
  /**
   * data normalised as the model takes it, made on the first window that reads the row: a pixel
   * is in up to four windows, and each then copies runs instead of normalising again.
   */
  normalized?: Float32Array[];
}

/** Decoded chunk rows by chunk-row index. */
export type ChunkRows = Map<number, ChunkRow>;

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

function row(rows: ChunkRows, header: StackHeader, y: number): ChunkRow {
  const r = rows.get(Math.floor(y / header.chunk));
  if (!r) throw new Error(`chunk row ${Math.floor(y / header.chunk)} is not loaded`);
  return r;
}

/**
 * Rows y0 .. y1 - 1 of the "valid in every date" mask, one after another (width bytes each): only
 * those pixels are mapped.
 */
export function validityRows(rows: ChunkRows, header: StackHeader, y0: number, y1: number): Uint8Array {
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
 * (x - mean) / std per band (the six values repeated per date) as float32; pixels without data 0
 * (the mean). Written into `spare` arrays of the right length where there are some.
 */
function normalize(
  data: Int16Array[],
  channels: number,
  normalization: Normalization,
  spare: Float32Array[],
): Float32Array[] {
  return data.map((chunk) => {
    const reuse = spare.length > 0 && spare[spare.length - 1]?.length === chunk.length;
    const out = reuse ? (spare.pop() as Float32Array) : new Float32Array(chunk.length);
    const plane = chunk.length / channels;
    for (let c = 0; c < channels; c++) {
      const mean = normalization.mean[c % 6] as number;
      const scale = 1 / (normalization.std[c % 6] as number);
      for (let i = c * plane; i < (c + 1) * plane; i++) {
        const v = chunk[i] as number;
        out[i] = v === StackNodata ? 0 : (v - mean) * scale;
      }
    }
    return out;
  });
}

export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

/**
 * Writes one window, normalised per band ((x - mean) / std, the six values repeated per date) into
 * `out` at `offset` as [channel][y][x]; pixels without data become 0 (the mean). Returns how many
 * pixels of the window have data in every channel. A chunk row is normalised on its first window,
 * into `spare` arrays (normalised chunks no longer read) where given.
 */
export function fillWindow(
  out: Float32Array,
  offset: number,
  rows: ChunkRows,
  header: StackHeader,
  x0: number,
  y0: number,
  size: number,
  normalization: Normalization,
  spare: Float32Array[] = [],
): number {
  const k = header.chunk;
  const plane = size * size;
  let validPixels = 0;
  for (let dy = 0; dy < size; dy++) {
    const y = y0 + dy;
    const r = row(rows, header, y);
    r.normalized ??= normalize(r.data, header.channels, normalization, spare);
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
      for (let c = 0; c < header.channels; c++) {
        const src = c * k * k + from;
        out.set(chunk.subarray(src, src + run), offset + c * plane + dy * size + dx);
      }
      dx += run;
    }
  }
  return validPixels;
}
