/**
 * SharedArrayBuffers kept for reuse, for the whole process. V8 frees a dropped ArrayBuffer soon
 * (its size counts towards the next collection) but a dropped SharedArrayBuffer only at a
 * collection something else prompts: a loop that allocated one per window held hundreds of MB of
 * dead windows (the mosaic's reads; inference's batch slots and logit rows, tile after tile).
 * Callers that know when they are done with one give it back. A buffer may be larger than asked
 * for (sizes are rounded up, and a free one up to twice the size is reused): views over it name
 * their length. Its contents are not zeroed.
 */
const Granule = 64 << 10;
/**
 * Bytes kept for reuse, at most: an inference tile's batch slots and logit rows (about 200 MB at
 * 3660 px) and a mosaic's reads in flight, not a hoard beyond them.
 */
const KeptBytes = 256 << 20;
/** Free buffers, smallest first. */
const free: SharedArrayBuffer[] = [];
let kept = 0;

/** A buffer of at least `bytes` bytes: the smallest free one that fits (at most twice the size), else a new one. */
export function takeShared(bytes: number): SharedArrayBuffer {
  const at = free.findIndex((b) => b.byteLength >= bytes);
  const fits = free[at];
  if (!fits || fits.byteLength > 2 * Math.max(bytes, Granule))
    return new SharedArrayBuffer(Math.max(Granule, Math.ceil(bytes / Granule) * Granule));
  free.splice(at, 1);
  kept -= fits.byteLength;
  return fits;
}

/** Hands a buffer from takeShared back once nothing (no thread either) reads or writes it any more. */
export function giveShared(buffer: SharedArrayBuffer): void {
  if (kept + buffer.byteLength > KeptBytes) return;
  const at = free.findIndex((b) => b.byteLength >= buffer.byteLength);
  free.splice(at < 0 ? free.length : at, 0, buffer);
  kept += buffer.byteLength;
}
