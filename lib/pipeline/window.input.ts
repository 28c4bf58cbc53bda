import { type StackHeader, StackNodata } from "../contracts/stack.header.ts";
import { giveShared, takeShared } from "../threads/shared.buffers.ts";

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
 * One decoded chunk, chunk `cx` of a row, normalised per band ((x - mean) / std, the six values
 * repeated per date) as float32 into `row.normalized[cx]`, pixels without data 0 (the mean), and
 * its validity mask into `row.valid[cx]`, in one pass over the data (one pass for the mask and one
 * to normalise cost four times as much). Negative reflectance (water, shadow, HLS's atmospheric
 * correction undershooting) is clipped to 0 first, as the seed's training chips were
 * (`np.clip(out_bands, 0, None)`): the model never saw a negative value.
 */
export function normalizeChunk(
  chunk: Int16Array,
  channels: number,
  normalization: Normalization,
  row: WindowRow,
  cx: number,
): void {
  const out = row.normalized[cx] as Float32Array;
  const mask = row.valid[cx] as Uint8Array;
  const plane = chunk.length / channels;
  mask.fill(1);
  for (let c = 0; c < channels; c++) {
    const mean = normalization.mean[c % 6] as number;
    const scale = 1 / (normalization.std[c % 6] as number);
    for (let i = 0, at = c * plane; i < plane; i++, at++) {
      const v = chunk[at] as number;
      if (v === StackNodata) {
        out[at] = 0;
        mask[i] = 0;
      } else out[at] = (Math.max(v, 0) - mean) * scale;
    }
  }
}

/**
 * A window row's arrays on one shared buffer (from shared.buffers.ts; `giveWindowRow` hands it
 * back): a decode thread writes it in place, and a later chunk row, or a later tile's, reuses it.
 * A chunk row is megabytes: new buffers per row, or buffers moved to a thread and back, count as
 * new memory each time and prompt full collections of the main thread.
 */
export function sharedWindowRow(header: Pick<StackHeader, "channels" | "chunk" | "chunksAcross">): WindowRow {
  const plane = header.chunk * header.chunk;
  const values = header.channels * plane;
  const buffer = takeShared(header.chunksAcross * (values * 4 + plane));
  const masks = header.chunksAcross * values * 4;
  return {
    normalized: Array.from(
      { length: header.chunksAcross },
      (_, cx) => new Float32Array(buffer, cx * values * 4, values),
    ),
    valid: Array.from(
      { length: header.chunksAcross },
      (_, cx) => new Uint8Array(buffer, masks + cx * plane, plane),
    ),
  };
}

/** Hands a row from sharedWindowRow back once nothing (no thread either) reads or writes it. */
export function giveWindowRow(row: WindowRow): void {
  const buffer = row.normalized[0]?.buffer;
  if (buffer instanceof SharedArrayBuffer) giveShared(buffer);
}

/**
 * A decoded chunk row as windows read it (see normalizeChunk), written into `into` where given
 * (one of the same header's, see sharedWindowRow).
 */
export function windowRow(
  header: StackHeader,
  data: readonly Int16Array[],
  normalization: Normalization,
  into?: WindowRow,
): WindowRow {
  const plane = header.chunk * header.chunk;
  const row = into ?? {
    normalized: data.map((chunk) => new Float32Array(chunk.length)),
    valid: data.map(() => new Uint8Array(plane)),
  };
  data.forEach((chunk, cx) => {
    normalizeChunk(chunk, header.channels, normalization, row, cx);
  });
  return row;
}

export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

/**
 * Writes one window of normalised rows (see `windowRow`) into `out` at `offset` as
 * [channel][y][x]. Returns how many pixels of the window have data in every channel.
 *
 * Block by block: the part of the window in one chunk, channel by channel, its rows one after
 * another. A chunk's channel is contiguous ([channel][y][x], k x k), so each block reads one run of
 * memory and writes rows of one output plane; row by row across all channels (18 planes read and
 * 18 written at once) took 1.7 times the CPU, mostly waiting on memory.
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
  for (let dy = 0; dy < size; ) {
    const y = y0 + dy;
    const r = row(rows, header, y);
    const yy = y % k;
    const height = Math.min(size - dy, k - yy);
    for (let dx = 0; dx < size; ) {
      const x = x0 + dx;
      const cx = Math.floor(x / k);
      const xx = x - cx * k;
      const run = Math.min(size - dx, k - xx);
      const mask = r.valid[cx] as Uint8Array;
      for (let j = 0, from = yy * k + xx; j < height; j++, from += k)
        for (let i = from; i < from + run; i++) validPixels += mask[i] as number;
      const chunk = r.normalized[cx] as Float32Array;
      for (let c = 0; c < header.channels; c++) {
        let src = c * k * k + yy * k + xx;
        let dst = offset + c * plane + dy * size + dx;
        for (let j = 0; j < height; j++, src += k, dst += size) out.set(chunk.subarray(src, src + run), dst);
      }
      dx += run;
    }
    dy += height;
  }
  return validPixels;
}
