/**
 * Just enough of the ZIP format to take one file out of a large archive without loading it: the
 * central directory (ZIP64 included: the national CDL zip is gigabytes) and a streamed inflate of
 * one entry to a file, its size and CRC-32 checked. Stored and deflated entries only: the system
 * `unzip` is not on every host, and a library would read the same few records.
 *
 * The archive is untrusted: every offset and length it states is checked against the file's own
 * size before anything is allocated or read, an entry's inflation stops the moment it passes its
 * declared size, and a declared size must fit on the disk. Every refusal is a ZipError (or
 * TooLargeError) naming `source`, which is what a person called the archive.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { type FileHandle, open, rm, statfs } from "node:fs/promises";
import { dirname } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { crc32, createInflateRaw } from "node:zlib";
import { TooLargeError, ZipError } from "../errors/reader.errors.ts";

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
const EndRecordLength = 22;
const DirectoryEntryLength = 46;
const LocalHeaderLength = 30;
/**
 * The largest central directory read: USDA's CDL zips hold a handful of entries (well under 4 KB
 * of directory); 16 MiB is some 100,000 entries, far past any CDL archive.
 */
export const MaxDirectoryBytes = 16 << 20;

/** `length` bytes at `position`, which the caller has checked lie inside the file. */
async function readAt(file: FileHandle, position: number, length: number, source: string): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, position);
  if (bytesRead !== length)
    throw new ZipError(source, `the archive ends early (at byte ${position + bytesRead})`);
  return buffer;
}

/** A 64-bit field as a number, refused past 2^53 (no file on a disk is that large). */
function u64(buffer: Buffer, at: number, what: string, source: string): number {
  const value = buffer.readBigUInt64LE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER))
    throw new ZipError(source, `${what} ${value} is past any file's size`);
  return Number(value);
}

/** ZIP64 extra field (0x0001): 64-bit values for exactly the fields set to 0xFFFFFFFF, in this order. */
function applyZip64(entry: ZipEntry, extra: Buffer, source: string): void {
  for (let at = 0; at + 4 <= extra.length; at += 4 + extra.readUInt16LE(at + 2)) {
    if (extra.readUInt16LE(at) !== 1) continue;
    const end = Math.min(extra.length, at + 4 + extra.readUInt16LE(at + 2));
    let value = at + 4;
    const next = (what: string) => {
      if (value + 8 > end)
        throw new ZipError(source, `the ZIP64 field of ${entry.name} is too short for its ${what}`);
      const v = u64(extra, value, `${entry.name}'s ${what}`, source);
      value += 8;
      return v;
    };
    if (entry.size === Max32) entry.size = next("size");
    if (entry.compressedSize === Max32) entry.compressedSize = next("compressed size");
    if (entry.localHeaderOffset === Max32) entry.localHeaderOffset = next("offset");
  }
}

interface DirectoryLocation {
  count: number;
  length: number;
  offset: number;
}

/** The directory an end record states, refused unless it lies in the file before `end` and fits its count. */
function checkedLocation(location: DirectoryLocation, end: number, source: string): DirectoryLocation {
  const { count, length, offset } = location;
  if (offset + length > end)
    throw new ZipError(
      source,
      `the end record places a ${length}-byte central directory at byte ${offset}, past the ${end} bytes before it`,
    );
  if (length > MaxDirectoryBytes)
    throw new ZipError(
      source,
      `a central directory of ${length} bytes is past the ${MaxDirectoryBytes} this reader takes`,
    );
  if (count * DirectoryEntryLength > length)
    throw new ZipError(
      source,
      `the end record counts ${count} entries in a ${length}-byte central directory`,
    );
  return location;
}

/** Where the central directory is and how many entries it holds, from the end records, checked. */
async function directoryLocation(file: FileHandle, size: number, source: string): Promise<DirectoryLocation> {
  if (size < EndRecordLength) throw new ZipError(source, `not a zip archive (${size} bytes)`);
  // The end record is 22 bytes plus a comment of at most 65535.
  const tailLength = Math.min(size, EndRecordLength + 0xffff);
  const tailStart = size - tailLength;
  const tail = await readAt(file, tailStart, tailLength, source);
  let end = -1;
  for (let i = tail.length - EndRecordLength; i >= 0 && end < 0; i--)
    if (tail.readUInt32LE(i) === Signature.endOfDirectory) end = i;
  if (end < 0) throw new ZipError(source, "not a zip archive (no end of central directory)");
  // A ZIP64 locator just before the end record means the 32-bit fields may be capped: use its record.
  const locator = end - 20;
  if (locator < 0 || tail.readUInt32LE(locator) !== Signature.zip64Locator) {
    const location = {
      count: tail.readUInt16LE(end + 10),
      length: tail.readUInt32LE(end + 12),
      offset: tail.readUInt32LE(end + 16),
    };
    return checkedLocation(location, tailStart + end, source);
  }
  const recordAt = u64(tail, locator + 8, "the ZIP64 end record's offset", source);
  if (recordAt + 56 > tailStart + locator)
    throw new ZipError(source, `the ZIP64 locator points at byte ${recordAt}, past the records before it`);
  const record = await readAt(file, recordAt, 56, source);
  if (record.readUInt32LE(0) !== Signature.zip64EndOfDirectory)
    throw new ZipError(source, "ZIP64 end of central directory record damaged");
  const location = {
    count: u64(record, 32, "the ZIP64 entry count", source),
    length: u64(record, 40, "the ZIP64 directory length", source),
    offset: u64(record, 48, "the ZIP64 directory offset", source),
  };
  return checkedLocation(location, recordAt, source);
}

/**
 * The entries of a zip archive, from its central directory; `source` names the archive in
 * refusals. Each entry's data is checked to lie before the directory.
 */
export async function zipEntries(path: string, source: string = path): Promise<ZipEntry[]> {
  const file = await open(path, "r");
  try {
    const { count, length, offset } = await directoryLocation(file, (await file.stat()).size, source);
    const directory = await readAt(file, offset, length, source);
    const entries: ZipEntry[] = [];
    for (let at = 0, n = 0; n < count; n++) {
      if (
        at + DirectoryEntryLength > directory.length ||
        directory.readUInt32LE(at) !== Signature.directoryEntry
      )
        throw new ZipError(source, `central directory entry ${n} is damaged`);
      const nameLength = directory.readUInt16LE(at + 28);
      const extraLength = directory.readUInt16LE(at + 30);
      const commentLength = directory.readUInt16LE(at + 32);
      const next = at + DirectoryEntryLength + nameLength + extraLength + commentLength;
      if (next > directory.length)
        throw new ZipError(source, `central directory entry ${n} runs past the directory`);
      const entry: ZipEntry = {
        name: directory.toString("utf8", at + DirectoryEntryLength, at + DirectoryEntryLength + nameLength),
        flags: directory.readUInt16LE(at + 8),
        method: directory.readUInt16LE(at + 10),
        crc: directory.readUInt32LE(at + 16),
        compressedSize: directory.readUInt32LE(at + 20),
        size: directory.readUInt32LE(at + 24),
        localHeaderOffset: directory.readUInt32LE(at + 42),
      };
      const extraAt = at + DirectoryEntryLength + nameLength;
      applyZip64(entry, directory.subarray(extraAt, extraAt + extraLength), source);
      if (entry.localHeaderOffset + LocalHeaderLength + entry.compressedSize > offset)
        throw new ZipError(
          source,
          `${entry.name} claims ${entry.compressedSize} bytes at byte ${entry.localHeaderOffset}, past the ${offset} bytes of entries`,
        );
      entries.push(entry);
      at = next;
    }
    return entries;
  } finally {
    await file.close();
  }
}

/** Refuses an entry the disk under `destination` has no room for, before a byte is written. */
async function checkFreeSpace(entry: ZipEntry, destination: string, source: string): Promise<void> {
  const disk = await statfs(dirname(destination));
  const free = disk.bavail * disk.bsize;
  if (entry.size > free)
    throw new TooLargeError(
      source,
      `${entry.name} is ${(entry.size / 1e6).toFixed(1)} MB, more than the ${(free / 1e6).toFixed(1)} MB free in ${dirname(destination)}`,
    );
}

/**
 * Writes one entry's content to `destination`, streaming; throws unless size and CRC-32 match.
 * Inflation stops as soon as the output passes the declared size, and nothing is left at
 * `destination` when it fails.
 */
export async function extractEntry(
  path: string,
  entry: ZipEntry,
  destination: string,
  source: string = path,
): Promise<void> {
  if (entry.flags & 1) throw new ZipError(source, `${entry.name} is encrypted`);
  if (entry.method !== 0 && entry.method !== 8)
    throw new ZipError(
      source,
      `${entry.name} is compressed with method ${entry.method}${entry.method === 9 ? " (Deflate64)" : ""}; ` +
        "only stored and deflated entries are read: extract it with another tool and import the .tif",
    );
  if (entry.method === 0 && entry.compressedSize !== entry.size)
    throw new ZipError(
      source,
      `${entry.name} is stored, yet its sizes differ (${entry.compressedSize} and ${entry.size})`,
    );
  await checkFreeSpace(entry, destination, source);
  const file = await open(path, "r");
  let start: number;
  try {
    const local = await readAt(file, entry.localHeaderOffset, LocalHeaderLength, source);
    if (local.readUInt32LE(0) !== Signature.localHeader)
      throw new ZipError(source, `local header of ${entry.name} is damaged`);
    // Name and extra field lengths here may differ from the central directory's.
    start = entry.localHeaderOffset + LocalHeaderLength + local.readUInt16LE(26) + local.readUInt16LE(28);
    if (start + entry.compressedSize > (await file.stat()).size)
      throw new ZipError(source, `${entry.name}'s data runs past the end of the archive`);
  } finally {
    await file.close();
  }
  let crc = 0;
  let size = 0;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > entry.size) {
        done(new ZipError(source, `${entry.name} inflates past the ${entry.size} bytes it declares`));
        return;
      }
      crc = crc32(chunk, crc);
      done(null, chunk);
    },
  });
  const input =
    entry.compressedSize === 0
      ? Readable.from([])
      : createReadStream(path, { start, end: start + entry.compressedSize - 1 });
  const inflate = entry.method === 8 ? [createInflateRaw()] : [];
  try {
    await pipeline([input, ...inflate, check, createWriteStream(destination)]);
  } catch (error) {
    await rm(destination, { force: true });
    // zlib's own words ("unexpected end of file", "invalid distance too far back") name no file.
    if ((error as { code?: string }).code?.startsWith("Z_"))
      throw new ZipError(source, `${entry.name} is damaged: ${(error as Error).message}`);
    throw error;
  }
  if (size !== entry.size || crc !== entry.crc) {
    await rm(destination, { force: true });
    throw new ZipError(
      source,
      `${entry.name} is damaged: ${size} bytes with CRC-32 ${crc.toString(16)}, ` +
        `the archive says ${entry.size} bytes with ${entry.crc.toString(16)}`,
    );
  }
}
