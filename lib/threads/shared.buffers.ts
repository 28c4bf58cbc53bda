/**
 * SharedArrayBuffers kept for reuse. V8 frees a dropped ArrayBuffer soon (its size counts towards
 * the next collection) but a dropped SharedArrayBuffer only at a collection something else
 * prompts: a loop that allocates one per window held hundreds of MB of dead windows (the mosaic's
 * peak RSS grew with the pixels read). Callers that know when they are done with one give it back.
 */
const Granule = 64 << 10;
/** Buffers kept per size, at most: enough for the reads in flight, not a hoard. */
const KeptPerSize = 16;
const free = new Map<number, SharedArrayBuffer[]>();

/** A buffer of at least `bytes` bytes (sizes rounded up, so similar requests share buffers). */
export function takeShared(bytes: number): SharedArrayBuffer {
  const size = Math.max(Granule, Math.ceil(bytes / Granule) * Granule);
  return free.get(size)?.pop() ?? new SharedArrayBuffer(size);
}

/** Hands a buffer from takeShared back; its contents may be overwritten from now on. */
export function giveShared(buffer: SharedArrayBuffer): void {
  let kept = free.get(buffer.byteLength);
  if (!kept) {
    kept = [];
    free.set(buffer.byteLength, kept);
  }
  if (kept.length < KeptPerSize) kept.push(buffer);
}
