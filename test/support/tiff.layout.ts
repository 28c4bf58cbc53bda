/** Reads the structure of a little-endian classic TIFF: enough to check a COG's layout, not its pixels. */
export interface TiffLevel {
  ifdOffset: number;
  /** First byte after the IFD and its out-of-line values. */
  ifdEnd: number;
  width: number;
  height: number;
  subfileType: number;
  tileWidth?: number;
  tileOffsets: number[];
  tileByteCounts: number[];
}

const TypeSize: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 12: 8, 16: 8 };

export function tiffLayout(bytes: Uint8Array): { levels: TiffLevel[]; ghost: string } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0) !== 0x4949 || view.getUint16(2, true) !== 42)
    throw new Error("not a little-endian classic TIFF");
  const first = view.getUint32(4, true);
  const ghost = Buffer.from(bytes.subarray(8, first)).toString("latin1");
  const levels: TiffLevel[] = [];
  for (let at = first; at !== 0; ) {
    const count = view.getUint16(at, true);
    let end = at + 2 + count * 12 + 4;
    const values = new Map<number, number[]>();
    for (let e = 0; e < count; e++) {
      const entry = at + 2 + e * 12;
      const tag = view.getUint16(entry, true);
      const type = view.getUint16(entry + 2, true);
      const n = view.getUint32(entry + 4, true);
      const size = (TypeSize[type] ?? 1) * n;
      const where = size > 4 ? view.getUint32(entry + 8, true) : entry + 8;
      if (size > 4) end = Math.max(end, where + size);
      const read: number[] = [];
      if (type === 3) for (let i = 0; i < n; i++) read.push(view.getUint16(where + i * 2, true));
      if (type === 4) for (let i = 0; i < n; i++) read.push(view.getUint32(where + i * 4, true));
      values.set(tag, read);
    }
    levels.push({
      ifdOffset: at,
      ifdEnd: end,
      width: values.get(256)?.[0] ?? 0,
      height: values.get(257)?.[0] ?? 0,
      subfileType: values.get(254)?.[0] ?? 0,
      tileWidth: values.get(322)?.[0],
      tileOffsets: values.get(324) ?? [],
      tileByteCounts: values.get(325) ?? [],
    });
    at = view.getUint32(at + 2 + count * 12, true);
  }
  return { levels, ghost };
}
