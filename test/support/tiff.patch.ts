/**
 * Rewrites one entry of the first directory of a little-endian classic TIFF (as our COG writer
 * writes them), to make a file claim what a hostile or damaged one would.
 */
export interface EntryPatch {
  type?: number;
  count?: number;
  /** The entry's value field: an inline value, or the offset of its values. */
  value?: number;
}

/** Where the first directory's entry for `tag` is, or -1. */
export function entryAt(bytes: Uint8Array, tag: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ifd = view.getUint32(4, true);
  const count = view.getUint16(ifd, true);
  for (let i = 0; i < count; i++) if (view.getUint16(ifd + 2 + i * 12, true) === tag) return ifd + 2 + i * 12;
  return -1;
}

/** A copy of `bytes` with the entry for `tag` rewritten. */
export function patchEntry(bytes: Uint8Array, tag: number, patch: EntryPatch): Buffer {
  const out = Buffer.from(bytes);
  const at = entryAt(out, tag);
  if (at < 0) throw new Error(`no tag ${tag} in the first directory`);
  if (patch.type !== undefined) out.writeUInt16LE(patch.type, at + 2);
  if (patch.count !== undefined) out.writeUInt32LE(patch.count, at + 4);
  if (patch.value !== undefined) {
    // A SHORT inline value sits in the field's first two bytes.
    if (out.readUInt16LE(at + 2) === 3 && out.readUInt32LE(at + 4) === 1)
      out.writeUInt32LE(patch.value & 0xffff, at + 8);
    else out.writeUInt32LE(patch.value, at + 8);
  }
  return out;
}
