/**
 * Just enough of the ZIP format to take one file out of a large archive without loading it: the
 * central directory (ZIP64 included: the national CDL zip is gigabytes) and a streamed inflate of
 * one entry to a file, its size and CRC-32 checked. Stored and deflated entries only: the system
 * `unzip` is not on every host, and a library would read the same few records.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { crc32, createInflateRaw } from "node:zlib";

/** An archive this reader cannot take: damaged, encrypted, or compressed another way. */
export class ZipError extends Error {}

export interface ZipEntry {
  name: string;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const Signature = {
  endOfDirectory: 0x06054b50,
  zip64Locator: 0x07064b50,
  zip64EndOfDirectory: 0x06064b50,
  directoryEntry: 0x02014b50,
  localHeader: 0x04034b50,
} as const;
const Max32 = 0xffffffff;

async function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, position);
  if (bytesRead !== length) throw new ZipError(`the archive ends early (at byte ${position + bytesRead})`);
  return buffer;
}

/** ZIP64 extra field (0x0001): 64-bit values for exactly the fields set to 0xFFFFFFFF, in this order. */
function applyZip64(entry: ZipEntry, extra: Buffer): void {
  for (let at = 0; at + 4 <= extra.length; at += 4 + extra.readUInt16LE(at + 2)) {
    if (extra.readUInt16LE(at) !== 1) continue;
    let value = at + 4;
    const next = () => {
      const v = Number(extra.readBigUInt64LE(value));
      value += 8;
      return v;
    };
    if (entry.size === Max32) entry.size = next();
    if (entry.compressedSize === Max32) entry.compressedSize = next();
    if (entry.localHeaderOffset === Max32) entry.localHeaderOffset = next();
  }
}

/** Where the central directory is and how many entries it holds, from the end records. */
async function directoryLocation(file: FileHandle, size: number) {
  // The end record is 22 bytes plus a comment of at most 65535.
  const tailLength = Math.min(size, 22 + 0xffff);
  const tail = await readAt(file, size - tailLength, tailLength);
  let end = -1;
  for (let i = tail.length - 22; i >= 0 && end < 0; i--)
    if (tail.readUInt32LE(i) === Signature.endOfDirectory) end = i;
  if (end < 0) throw new ZipError("not a zip archive (no end of central directory)");
  // A ZIP64 locator just before the end record means the 32-bit fields may be capped: use its record.
  const locator = end - 20;
  if (locator < 0 || tail.readUInt32LE(locator) !== Signature.zip64Locator) {
    return {
      count: tail.readUInt16LE(end + 10),
      length: tail.readUInt32LE(end + 12),
      offset: tail.readUInt32LE(end + 16),
    };
  }
  const record = await readAt(file, Number(tail.readBigUInt64LE(locator + 8)), 56);
  if (record.readUInt32LE(0) !== Signature.zip64EndOfDirectory)
    throw new ZipError("ZIP64 end of central directory record damaged");
  return {
    count: Number(record.readBigUInt64LE(32)),
    length: Number(record.readBigUInt64LE(40)),
    offset: Number(record.readBigUInt64LE(48)),
  };
}

/** The entries of a zip archive, from its central directory. */
export async function zipEntries(path: string): Promise<ZipEntry[]> {
  const file = await open(path, "r");
  try {
    const { count, length, offset } = await directoryLocation(file, (await file.stat()).size);
    const directory = await readAt(file, offset, length);
    const entries: ZipEntry[] = [];
    for (let at = 0, n = 0; n < count; n++) {
      if (at + 46 > directory.length || directory.readUInt32LE(at) !== Signature.directoryEntry)
        throw new ZipError(`central directory entry ${n} is damaged`);
      const nameLength = directory.readUInt16LE(at + 28);
      const extraLength = directory.readUInt16LE(at + 30);
      const commentLength = directory.readUInt16LE(at + 32);
      const entry: ZipEntry = {
        name: directory.toString("utf8", at + 46, at + 46 + nameLength),
        flags: directory.readUInt16LE(at + 8),
        method: directory.readUInt16LE(at + 10),
        crc: directory.readUInt32LE(at + 16),
        compressedSize: directory.readUInt32LE(at + 20),
        size: directory.readUInt32LE(at + 24),
        localHeaderOffset: directory.readUInt32LE(at + 42),
      };
      applyZip64(entry, directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength));
      entries.push(entry);
      at += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
  } finally {
    await file.close();
  }
}

/** Writes one entry's content to `destination`, streaming; throws unless size and CRC-32 match. */
export async function extractEntry(path: string, entry: ZipEntry, destination: string): Promise<void> {
  if (entry.flags & 1) throw new ZipError(`${entry.name} is encrypted`);
  if (entry.method !== 0 && entry.method !== 8)
    throw new ZipError(
      `${entry.name} is compressed with method ${entry.method}${entry.method === 9 ? " (Deflate64)" : ""}; ` +
        "only stored and deflated entries are read: extract it with another tool and import the .tif",
    );
  const file = await open(path, "r");
  let start: number;
  try {
    const local = await readAt(file, entry.localHeaderOffset, 30);
    if (local.readUInt32LE(0) !== Signature.localHeader)
      throw new ZipError(`local header of ${entry.name} is damaged`);
    // Name and extra field lengths here may differ from the central directory's.
    start = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  } finally {
    await file.close();
  }
  let crc = 0;
  let size = 0;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const input =
    entry.compressedSize === 0
      ? Readable.from([])
      : createReadStream(path, { start, end: start + entry.compressedSize - 1 });
  const inflate = entry.method === 8 ? [createInflateRaw()] : [];
  await pipeline([input, ...inflate, check, createWriteStream(destination)]);
  if (size !== entry.size || crc !== entry.crc)
    throw new ZipError(
      `${entry.name} is damaged: ${size} bytes with CRC-32 ${crc.toString(16)}, ` +
        `the archive says ${entry.size} bytes with ${entry.crc.toString(16)}`,
    );
}
