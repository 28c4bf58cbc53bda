import { crc32 } from "node:zlib";
import { type NpyDtype, npyBytes } from "./npy.writer.ts";

/** One array of an `.npz`: its dtype, shape and C-order data. */
export interface NpzArray {
  dtype: NpyDtype;
  shape: readonly number[];
  data: Int16Array | Uint8Array;
}

/** MS-DOS date of 1980-01-01, time 00:00: a fixed stamp, so the same arrays give the same bytes. */
const DosDate = 0x0021;

/**
 * An `.npz` as `numpy.savez` writes one: a zip of `<name>.npy` members, here stored (method 0, no
 * compression; `np.load` reads either), each with its CRC-32. Small archives only (no ZIP64): a
 * sample series is kilobytes.
 */
export function npzBytes(arrays: Record<string, NpzArray>): Buffer {
  const locals: Buffer[] = [];
  const directory: Buffer[] = [];
  let offset = 0;
  for (const [name, array] of Object.entries(arrays)) {
    const body = npyBytes(array.dtype, array.shape, array.data);
    const file = Buffer.from(`${name}.npy`, "utf8");
    const crc = crc32(body);
    // The fields a local header and a directory entry share: version 2.0, no flags, stored, the stamp, CRC and sizes.
    const common = Buffer.alloc(26);
    common.writeUInt16LE(20, 0);
    common.writeUInt16LE(0, 2);
    common.writeUInt16LE(0, 4);
    common.writeUInt16LE(0, 6);
    common.writeUInt16LE(DosDate, 8);
    common.writeUInt32LE(crc, 10);
    common.writeUInt32LE(body.length, 14);
    common.writeUInt32LE(body.length, 18);
    common.writeUInt16LE(file.length, 22);
    common.writeUInt16LE(0, 24);
    const local = Buffer.concat([u32(0x04034b50), common, file, body]);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    common.copy(entry, 6);
    // Comment length, disk number, internal and external attributes stay 0; then the local header's offset.
    entry.writeUInt32LE(offset, 42);
    directory.push(entry, file);
    locals.push(local);
    offset += local.length;
  }
  const central = Buffer.concat(directory);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(locals.length, 8);
  end.writeUInt16LE(locals.length, 10);
  end.writeUInt32LE(central.length, 12);
  end.writeUInt32LE(offset, 16);
  if (offset + central.length > 0xffffffff) throw new Error("npz archive past 4 GiB: ZIP64 is not written");
  return Buffer.concat([...locals, central, end]);
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value, 0);
  return b;
}
