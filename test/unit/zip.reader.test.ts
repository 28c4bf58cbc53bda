import { execFile } from "node:child_process";
import { access, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractEntry, zipEntries } from "../../lib/cdl/zip.reader.ts";
import { TooLargeError, ZipError } from "../../lib/errors/reader.errors.ts";
import { seededRandom } from "../../lib/random.ts";
import { buildZip, entryOf } from "../support/zip.build.ts";

// Archives written by Python's zipfile, an independent writer (Python 3 is a set-up prerequisite).
const python = promisify(execFile)("python3", ["--version"]).then(
  () => true,
  () => false,
);
let dir: string;
let content: Buffer;

/** Writes `names` (each holding `content`) into a zip with Python; `zip64` forces ZIP64 records on small files. */
async function pythonZip(file: string, names: string[], compression: string, zip64 = false): Promise<string> {
  const path = join(dir, file);
  const script = [
    "import sys, zipfile",
    ...(zip64 ? ["zipfile.ZIP64_LIMIT = 16", "zipfile.ZIP_FILECOUNT_LIMIT = 1"] : []),
    "data = open(sys.argv[2], 'rb').read()",
    `with zipfile.ZipFile(sys.argv[1], 'w', zipfile.${compression}) as z:`,
    "    for name in sys.argv[3:]: z.writestr(name, data)",
  ].join("\n");
  await promisify(execFile)("python3", ["-c", script, path, join(dir, "content.bin"), ...names]);
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "zip-"));
  // Half runs of one value (compressible, like CDL codes), half noise: 300 kB, several deflate blocks.
  const random = seededRandom(5);
  content = Buffer.from(
    Array.from({ length: 300_000 }, (_, i) =>
      i % 2000 < 1000 ? 1 + ((i / 2000) | 0) : Math.floor(random() * 256),
    ),
  );
  await writeFile(join(dir, "content.bin"), content);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("zip reader", () => {
  it.for([
    ["deflated", "ZIP_DEFLATED", false],
    ["stored", "ZIP_STORED", false],
    ["ZIP64 records", "ZIP_DEFLATED", true],
  ] as const)("lists and extracts %s byte for byte", async ([, compression, zip64], context) => {
    if (!(await python)) return context.skip();
    const names = ["2022_30m_cdls.htm", "2022_30m_cdls/2022_30m_cdls.tif"];
    const path = await pythonZip(`${compression}-${zip64}.zip`, names, compression, zip64);
    const entries = await zipEntries(path);
    expect(entries.map((e) => [e.name, e.size])).toEqual(names.map((n) => [n, content.length]));
    if (zip64) expect((await readFile(path)).includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true);
    const out = join(dir, `out-${compression}-${zip64}.tif`);
    await extractEntry(path, entries[1] as (typeof entries)[number], out);
    expect((await readFile(out)).equals(content)).toBe(true);
  });

  it("refuses damaged data, other compression methods and files that are not zips", async (context) => {
    if (!(await python)) return context.skip();
    const path = await pythonZip("damaged.zip", ["a.tif"], "ZIP_STORED");
    const bytes = await readFile(path);
    const [entry] = await zipEntries(path);
    // A flipped byte in the middle of the stored data: only the CRC can tell.
    const at = (entry?.localHeaderOffset ?? 0) + 30 + "a.tif".length + 1000;
    bytes[at] = (bytes[at] as number) ^ 0xff;
    await writeFile(path, bytes);
    await expect(extractEntry(path, entry as NonNullable<typeof entry>, join(dir, "x"))).rejects.toThrow(
      /a\.tif is damaged: 300000 bytes with CRC-32 [0-9a-f]+, the archive says 300000 bytes/,
    );

    const bzip = await pythonZip("bzip.zip", ["a.tif"], "ZIP_BZIP2");
    const [bzipEntry] = await zipEntries(bzip);
    await expect(
      extractEntry(bzip, bzipEntry as NonNullable<typeof bzipEntry>, join(dir, "y")),
    ).rejects.toThrow("a.tif is compressed with method 12");

    await expect(zipEntries(join(dir, "content.bin"))).rejects.toThrow(ZipError);
  });
});

describe("zip reader on hostile archives", () => {
  const write = async (name: string, bytes: Buffer) => {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return path;
  };
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error,
    );
  const absent = (path: string) =>
    access(path).then(
      () => false,
      () => true,
    );

  it("refuses an end record claiming a 4 GB directory in a 52-byte file, before allocating it", async () => {
    // A local header of an empty entry and an end record: 52 bytes. The old reader allocated the
    // claimed directory and the process aborted (exit 134).
    const localHeader = buildZip([entryOf("", Buffer.alloc(0), 0)]).subarray(0, 30);
    const endRecord = buildZip([], { count: 1, length: 0xfffffff0, offset: 0 });
    const path = await write("claims-4gb.zip", Buffer.concat([localHeader, endRecord]));
    expect((await stat(path)).size).toBe(52);
    const error = await refusal(zipEntries(path, "https://example.com/claims-4gb.zip"));
    expect(error).toBeInstanceOf(ZipError);
    expect((error as ZipError).source).toBe("https://example.com/claims-4gb.zip");
    expect((error as Error).message).toMatch(
      /^https:\/\/example\.com\/claims-4gb\.zip: the end record places a 4294967280-byte central directory at byte 0, past the 30 bytes before it$/,
    );
  });

  it("refuses counts and offsets past the directory and entries whose data lies past it", async () => {
    const good = buildZip([entryOf("a.tif", Buffer.from("abc"))]);
    const counted = await write(
      "counted.zip",
      buildZip([entryOf("a.tif", Buffer.from("abc"))], { count: 60000 }),
    );
    expect(String(await refusal(zipEntries(counted)))).toContain(
      "counts 60000 entries in a 51-byte central directory",
    );
    const moved = Buffer.from(good);
    // The entry's local header offset (directory byte 42) moved past the directory.
    const directoryAt = moved.readUInt32LE(moved.length - 6);
    moved.writeUInt32LE(0x7fffffff, directoryAt + 42);
    const error = await refusal(zipEntries(await write("moved.zip", moved)));
    expect(error).toBeInstanceOf(ZipError);
    expect(String(error)).toContain("a.tif claims 5 bytes at byte 2147483647");
  });

  it("stops an entry the moment it inflates past its declared size, leaving nothing written", async () => {
    // 16 MiB of zeros deflate to 16 kB; the directory says 5 bytes.
    const bomb = { ...entryOf("bomb.tif", Buffer.alloc(16 << 20)), size: 5 };
    const path = await write("bomb.zip", buildZip([bomb]));
    const [entry] = await zipEntries(path, "bomb.zip");
    const out = join(dir, "bomb.tif");
    const error = await refusal(extractEntry(path, entry as NonNullable<typeof entry>, out, "bomb.zip"));
    expect(error).toBeInstanceOf(ZipError);
    expect((error as Error).message).toBe("bomb.zip: bomb.tif inflates past the 5 bytes it declares");
    expect(await absent(out)).toBe(true);
  });

  it("refuses an entry larger than the free disk space before writing a byte", async () => {
    const huge = { ...entryOf("huge.tif", Buffer.from("small")), size: 2 ** 52 };
    const path = await write("huge.zip", buildZip([huge]));
    const [entry] = await zipEntries(path);
    expect(entry?.size).toBe(2 ** 52);
    const out = join(dir, "huge.tif");
    const error = await refusal(extractEntry(path, entry as NonNullable<typeof entry>, out, "huge.zip"));
    expect(error).toBeInstanceOf(TooLargeError);
    expect((error as Error).message).toMatch(
      /^huge\.zip: huge\.tif is 4503599627\.4 MB, more than the [\d.]+ MB free in /,
    );
    expect(await absent(out)).toBe(true);
  });

  it("names the archive and the entry when the deflated data is cut short", async () => {
    const full = entryOf("cut.tif", Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 251)));
    const cut = { ...full, stored: full.stored.subarray(0, full.stored.length >> 1) };
    const path = await write("cut.zip", buildZip([cut]));
    const [entry] = await zipEntries(path);
    const error = await refusal(
      extractEntry(path, entry as NonNullable<typeof entry>, join(dir, "cut.tif"), "cut.zip"),
    );
    expect(error).toBeInstanceOf(ZipError);
    expect((error as Error).message).toBe("cut.zip: cut.tif is damaged: unexpected end of file");
  });
});
