import type { StackHeader } from "./stack.format.ts";
import { StackNodata } from "./stack.format.ts";

/** One decoded row of chunks: data[cx] is channels x chunk x chunk; valid[cx] marks pixels with data in every channel. */
export interface ChunkRow {
  data: Int16Array[];
  valid: Uint8Array[];
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

/** Whether a pixel has data in every channel (every date): only those are mapped. */
export function pixelValid(rows: ChunkRows, header: StackHeader, x: number, y: number): boolean {
  const k = header.chunk;
  return (row(rows, header, y).valid[Math.floor(x / k)] as Uint8Array)[(y % k) * k + (x % k)] === 1;
}

/**
 * Writes one window, normalised per band ((x - mean) / std, the six values repeated per date) into
 * `out` at `offset` as [channel][y][x]; pixels without data become 0 (the mean). Returns how many
 * pixels of the window have data in every channel.
 */
export function fillWindow(
  out: Float32Array,
  offset: number,
  rows: ChunkRows,
  header: StackHeader,
  x0: number,
  y0: number,
  size: number,
  normalization: { mean: readonly number[]; std: readonly number[] },
): number {
  const k = header.chunk;
  let validPixels = 0;
  for (let dy = 0; dy < size; dy++) {
    const y = y0 + dy;
    const { data, valid } = row(rows, header, y);
    const yy = (y % k) * k;
    for (let dx = 0; dx < size; dx++) {
      const x = x0 + dx;
      validPixels += (valid[Math.floor(x / k)] as Uint8Array)[yy + (x % k)] as number;
    }
    for (let c = 0; c < header.channels; c++) {
      const mean = normalization.mean[c % 6] as number;
      const scale = 1 / (normalization.std[c % 6] as number);
      const at = offset + c * size * size + dy * size;
      const base = c * k * k + yy;
      for (let dx = 0; dx < size; ) {
        // Runs of pixels within one chunk.
        const x = x0 + dx;
        const chunk = data[Math.floor(x / k)] as Int16Array;
        const run = Math.min(size - dx, k - (x % k));
        const from = base + (x % k);
        for (let i = 0; i < run; i++) {
          const v = chunk[from + i] as number;
          out[at + dx + i] = v === StackNodata ? 0 : (v - mean) * scale;
        }
        dx += run;
      }
    }
  }
  return validPixels;
}
