/**
 * Zip archives built byte by byte, to say exactly what a hostile or damaged one claims: sizes,
 * offsets and counts that no honest writer (Python's zipfile, in zip.reader.test.ts) would put.
 */
import { crc32, deflateRawSync } from "node:zlib";

export interface BuiltEntry {
  name: string;
  /** The bytes stored in the archive (deflated already when `method` is 8). */
  stored: Buffer;
  method: 0 | 8;
  /** What the directory declares; by default what `stored` honestly holds. */
  size: number;
  crc: number;
}

/** An honest entry holding `content`, deflated or stored. */
export function entryOf(name: string, content: Buffer, method: 0 | 8 = 8): BuiltEntry {
  return {
    name,
    stored: method === 8 ? deflateRawSync(content) : content,
    method,
    size: content.length,
    crc: crc32(content),
  };
}

/** Local headers and data, central directory and end record; `end` overrides the end record's fields. */
export function buildZip(
  entries: BuiltEntry[],
  end: Partial<{ count: number; length: number; offset: number }> = {},
): Buffer {
  const parts: Buffer[] = [];
  const directory: Buffer[] = [];
  let at = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.method, 8);
    local.writeUInt32LE(e.crc, 14);
    local.writeUInt32LE(e.stored.length, 18);
    local.writeUInt32LE(Math.min(e.size, 0xffffffff), 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(e.method, 10);
    central.writeUInt32LE(e.crc, 16);
    central.writeUInt32LE(e.stored.length, 20);
    const zip64 = e.size > 0xfffffffe;
    central.writeUInt32LE(zip64 ? 0xffffffff : e.size, 24);
    central.writeUInt16LE(name.length, 28);
    const extra = Buffer.alloc(zip64 ? 12 : 0);
    if (zip64) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(8, 2);
      extra.writeBigUInt64LE(BigInt(e.size), 4);
    }
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt32LE(at, 42);
    parts.push(local, name, e.stored);
    directory.push(central, name, extra);
    at += 30 + name.length + e.stored.length;
  }
  const dir = Buffer.concat(directory);
  const record = Buffer.alloc(22);
  record.writeUInt32LE(0x06054b50, 0);
  record.writeUInt16LE(end.count ?? entries.length, 8);
  record.writeUInt16LE(end.count ?? entries.length, 10);
  record.writeUInt32LE(end.length ?? dir.length, 12);
  record.writeUInt32LE(end.offset ?? at, 16);
  return Buffer.concat([...parts, dir, record]);
}
