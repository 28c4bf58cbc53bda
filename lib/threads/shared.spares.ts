/**
 * SharedArrayBuffers kept for reuse, by size, for the whole process. V8 does not count shared
 * memory towards what prompts a full collection, so shared buffers dropped tile after tile could
 * pile up unreclaimed (a loop that drops filled 30 MB ones grows by 30 MB each time); taken and
 * given back here, they stay at the most ever in use at once. A buffer taken is not zeroed.
 */
const spares = new Map<number, SharedArrayBuffer[]>();

export function takeShared(bytes: number): SharedArrayBuffer {
  return spares.get(bytes)?.pop() ?? new SharedArrayBuffer(bytes);
}

/** Gives a buffer back once nothing (no thread either) reads or writes it any more. */
export function giveShared(buffer: SharedArrayBuffer): void {
  let list = spares.get(buffer.byteLength);
  if (!list) {
    list = [];
    spares.set(buffer.byteLength, list);
  }
  list.push(buffer);
}
