import type { StackHeader } from "./stack.format.ts";
import { StackNodata } from "./stack.format.ts";

/** Decoded chunk rows by chunk-row index; each row holds chunks[cx] of channels x chunk x chunk. */
export type ChunkRows = Map<number, Int16Array[]>;

function sample(rows: ChunkRows, header: StackHeader, channel: number, x: number, y: number): number {
  const k = header.chunk;
  const chunk = rows.get(Math.floor(y / k))?.[Math.floor(x / k)];
  if (!chunk) throw new Error(`chunk row ${Math.floor(y / k)} is not loaded`);
  return chunk[channel * k * k + (y % k) * k + (x % k)] as number;
}

/** Whether a pixel has data in every channel (every date): only those are mapped. */
export function pixelValid(rows: ChunkRows, header: StackHeader, x: number, y: number): boolean {
  for (let c = 0; c < header.channels; c++) if (sample(rows, header, c, x, y) === StackNodata) return false;
  return true;
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
  const valid = new Uint8Array(size * size).fill(1);
  for (let c = 0; c < header.channels; c++) {
    const mean = normalization.mean[c % 6] as number;
    const std = normalization.std[c % 6] as number;
    const plane = offset + c * size * size;
    for (let dy = 0; dy < size; dy++) {
      const y = y0 + dy;
      const chunkRow = rows.get(Math.floor(y / k));
      if (!chunkRow) throw new Error(`chunk row ${Math.floor(y / k)} is not loaded`);
      const yy = (y % k) * k + c * k * k;
      for (let dx = 0; dx < size; dx++) {
        const x = x0 + dx;
        const v = (chunkRow[Math.floor(x / k)] as Int16Array)[yy + (x % k)] as number;
        const at = dy * size + dx;
        if (v === StackNodata) {
          out[plane + at] = 0;
          valid[at] = 0;
        } else {
          out[plane + at] = (v - mean) / std;
        }
      }
    }
  }
  return valid.reduce((n, v) => n + v, 0);
}
