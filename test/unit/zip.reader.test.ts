import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractEntry, ZipError, zipEntries } from "../../lib/cdl/zip.reader.ts";
import { seededRandom } from "../../lib/random.ts";

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
