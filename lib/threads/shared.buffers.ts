/**
 * SharedArrayBuffers kept for reuse. V8 frees a dropped ArrayBuffer soon (its size counts towards
 * the next collection) but a dropped SharedArrayBuffer only at a collection something else
 * prompts: a loop that allocates one per window held hundreds of MB of dead windows (the mosaic's
 * peak RSS grew with the pixels read). Callers that know when they are done with one give it back.
 */
const Granule = 64 << 10;
/** Bytes kept for reuse, at most: enough for the reads in flight, not a hoard. */
const KeptBytes = 64 << 20;
/** Free buffers, smallest first. */
const free: SharedArrayBuffer[] = [];
let kept = 0;

/** A buffer of at least `bytes` bytes: the smallest free one that fits, else a new one (rounded up). */
export function takeShared(bytes: number): SharedArrayBuffer {
  const at = free.findIndex((b) => b.byteLength >= bytes);
  if (at < 0) return new SharedArrayBuffer(Math.max(Granule, Math.ceil(bytes / Granule) * Granule));
  const [buffer] = free.splice(at, 1) as [SharedArrayBuffer];
  kept -= buffer.byteLength;
  return buffer;
}

/** Hands a buffer from takeShared back; its contents may be overwritten from now on. */
export function giveShared(buffer: SharedArrayBuffer): void {
  if (kept + buffer.byteLength > KeptBytes) return;
  const at = free.findIndex((b) => b.byteLength >= buffer.byteLength);
  free.splice(at < 0 ? free.length : at, 0, buffer);
  kept += buffer.byteLength;
}
