/**
 * Hostile inputs for the readers of files we did not write (TIFF header and directory, zip
 * directory and entries, cmr.xml records), shared by the property tests (test/unit/*.fuzz.test.ts)
 * and the soak (scripts/fuzz/readers.soak.ts). Inputs are honest seed files with a few fields
 * overwritten by values on the edges readers size things by, or cut short; each target reports
 * whether the reader read, refused with its typed error, or failed any other way (a defect), and
 * how much ArrayBuffer memory it grew by while it ran.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { extractEntry, zipEntries } from "../../lib/cdl/zip.reader.ts";
import { ReaderError } from "../../lib/errors/reader.errors.ts";
import { CmrRecordError, cmrGranuleFacts, parseCmrXml } from "../../lib/hls/cmr.xml.ts";
import { openCog } from "../../lib/raster/cog.reader.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import { MaxBlockBytes } from "../../lib/raster/tiff.ifd.ts";
import { bytesSource } from "./bytes.source.ts";
import { buildZip, entryOf } from "./zip.build.ts";

/**
 * The most a reader's ArrayBuffer memory may grow by while it reads one hostile file: one block
 * decoded at its largest size (MaxBlockBytes) and room for the file and the reader's own buffers.
 * The old readers allocated 277 MB for a 3 KB TIFF and 4 GB for a 52-byte zip.
 */
export const AllocationBound = MaxBlockBytes + (32 << 20);

/** Values on the edges of the 8-, 16- and 32-bit fields that readers size allocations and loops by. */
const Edges = [
  0, 1, 2, 3, 7, 8, 16, 0xff, 0x100, 0x7fff, 0xffff, 0x10000, 0x4000000, 0x7fffffff, 0x80000000, 0xffffffff,
];

export type Mutation = { at: number; width: 1 | 2 | 4; value: number } | { truncate: number };

/** Up to six overwrites or cuts of a file of `length` bytes, most of them in its first `hot` bytes. */
export function mutations(length: number, hot = length): fc.Arbitrary<Mutation[]> {
  const at = fc.oneof(fc.nat({ max: Math.max(0, Math.min(hot, length) - 1) }), fc.nat({ max: length - 1 }));
  const value = fc.oneof(fc.constantFrom(...Edges, length, length + 1), fc.nat({ max: 0xffffffff }));
  const write = fc.record({ at, width: fc.constantFrom(1 as const, 2 as const, 4 as const), value });
  const truncate = fc.record({ truncate: fc.nat({ max: length }) });
  return fc.array(fc.oneof({ weight: 9, arbitrary: write }, { weight: 1, arbitrary: truncate }), {
    minLength: 1,
    maxLength: 6,
  });
}

export function mutate(seed: Uint8Array, list: readonly Mutation[]): Buffer {
  let out = Buffer.from(seed);
  for (const m of list) {
    if ("truncate" in m) {
      out = out.subarray(0, m.truncate);
      continue;
    }
    if (m.at + m.width > out.length) continue;
    if (m.width === 1) out[m.at] = m.value & 0xff;
    else if (m.width === 2) out.writeUInt16LE(m.value & 0xffff, m.at);
    else out.writeUInt32LE(m.value >>> 0, m.at);
  }
  return out;
}

export type Outcome =
  | { kind: "read"; grew: number }
  | { kind: "refused"; name: string; grew: number }
  | { kind: "untyped"; error: unknown; grew: number };

/** Runs a reader, sampling ArrayBuffer memory while it runs (`sample`) and after. */
export async function outcomeOf(
  typed: (error: unknown) => boolean,
  run: (sample: () => void) => Promise<unknown>,
): Promise<Outcome> {
  const baseline = process.memoryUsage().arrayBuffers;
  let peak = baseline;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  };
  try {
    await run(sample);
    sample();
    return { kind: "read", grew: peak - baseline };
  } catch (error) {
    sample();
    if (typed(error)) return { kind: "refused", name: (error as Error).name, grew: peak - baseline };
    return { kind: "untyped", error, grew: peak - baseline };
  }
}

/**
 * Runs a reader on 200 inputs drawn with a fixed seed (the same run each time; the soak draws
 * new ones), each within 10 s: fails on an untyped failure (shrunk to the smallest input that
 * shows it) or a run past AllocationBound. Answers how many inputs were read and refused.
 */
export async function holdsOn<T>(
  inputs: fc.Arbitrary<T>,
  run: (input: T) => Promise<Outcome>,
): Promise<Record<Outcome["kind"], number>> {
  const kinds: Record<Outcome["kind"], number> = { read: 0, refused: 0, untyped: 0 };
  await fc.assert(
    fc.asyncProperty(inputs, async (input) => {
      const outcome = await run(input);
      kinds[outcome.kind]++;
      if (outcome.kind === "untyped") throw outcome.error;
      if (outcome.grew > AllocationBound)
        throw new Error(`grew ArrayBuffer memory by ${outcome.grew} bytes, past ${AllocationBound}`);
    }),
    { numRuns: 200, seed: 25, timeout: 10_000 },
  );
  return kinds;
}

/** Our own COG layout: 300 x 200 uint8 in two 256 px deflated tiles with predictor 2. */
export async function tiffSeed(): Promise<Buffer> {
  const data = new Uint8Array(300 * 200).map((_, i) => (i * 31) % 251);
  return encodeCog(
    {
      width: 300,
      height: 200,
      data,
      geo: { epsg: 32615, origin: [500000, 4000000], pixelSize: 30 },
      nodata: 0,
    },
    { tileSize: 256, overviews: "none" },
  );
}

/** The TIFF reader on `bytes`: header and directory, then a window on both read paths. */
export function readTiff(bytes: Uint8Array): Promise<Outcome> {
  return outcomeOf(
    (e) => e instanceof ReaderError,
    async (sample) => {
      const image = await openCog(bytesSource(bytes, "fuzz.tif", sample), { blockSize: 64 << 10 });
      const window = [0, 0, Math.min(64, image.getWidth()), Math.min(64, image.getHeight())];
      await image.readRasters({ window, samples: [0], interleave: true });
      sample();
      await image.readRasters({ window, samples: [0] });
    },
  );
}

/** A CDL-like zip: the GeoTIFF and a sidecar, deflated. */
export function zipSeed(): Buffer {
  const tif = Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i >> 6) % 7));
  return buildZip([
    entryOf("2022_30m_cdls/2022_30m_cdls.htm", Buffer.from("<html>x</html>")),
    entryOf("2022_30m_cdls/2022_30m_cdls.tif", tif),
  ]);
}

/** The zip reader on `bytes`: the directory, then every entry extracted into a folder of its own. */
export function readZip(bytes: Uint8Array): Promise<Outcome> {
  return outcomeOf(
    (e) => e instanceof ReaderError,
    async (sample) => {
      const dir = await mkdtemp(join(tmpdir(), "zip-fuzz-"));
      try {
        const path = join(dir, "fuzz.zip");
        await writeFile(path, bytes);
        const entries = await zipEntries(path, "fuzz.zip");
        sample();
        for (const [i, entry] of entries.slice(0, 4).entries()) {
          await extractEntry(path, entry, join(dir, `entry-${i}`), "fuzz.zip");
          sample();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
}

/** An ECHO 10 granule record as LP DAAC writes it. */
export const cmrSeed = `<?xml version="1.0" encoding="UTF-8"?>
<Granule><GranuleUR>HLS.S30.T15TVG.2022200T170851.v2.0</GranuleUR>
<Temporal><RangeDateTime><BeginningDateTime>2022-07-19T17:18:41.391Z</BeginningDateTime></RangeDateTime></Temporal>
<Spatial><HorizontalSpatialDomain><Geometry><GPolygon><Boundary>
<Point><PointLongitude>-93.0</PointLongitude><PointLatitude>42.4</PointLatitude></Point>
<Point><PointLongitude>-91.7</PointLongitude><PointLatitude>42.4</PointLatitude></Point>
<Point><PointLongitude>-91.7</PointLongitude><PointLatitude>43.3</PointLatitude></Point>
</Boundary></GPolygon></Geometry></HorizontalSpatialDomain></Spatial>
<AdditionalAttributes>
<AdditionalAttribute><Name>MGRS_TILE_ID</Name><Values><Value>15TVG</Value></Values></AdditionalAttribute>
<AdditionalAttribute><Name>CLOUD_COVERAGE</Name><Values><Value>12</Value></Values></AdditionalAttribute>
<AdditionalAttribute><Name>SPATIAL_COVERAGE</Name><Values><Value>98</Value></Values></AdditionalAttribute>
</AdditionalAttributes></Granule>`;

/** XML fragments a hostile or broken record holds: deep nesting, entities, stray markup. */
const Fragments = [
  "<a>".repeat(300),
  "</Granule>",
  '<!DOCTYPE Granule [<!ENTITY a "aaaa">]>',
  "&a;",
  "&#0;",
  "<![CDATA[",
  "]]>",
  "<!--",
  '<?xml version="1.0"?>',
  "<Value>",
  "</Values>",
  "<AdditionalAttribute><Name>CLOUD_COVERAGE</Name><Values><Value>1e309</Value></Values></AdditionalAttribute>",
  "\u0000",
  "\uFFFF",
  "x".repeat(5000),
];

/** Edits of a record: fragments inserted, slices cut out, characters replaced. */
export function xmlEdits(length: number) {
  const at = fc.nat({ max: length });
  return fc.array(
    fc.oneof(
      fc.record({ at, insert: fc.oneof(fc.constantFrom(...Fragments), fc.string({ maxLength: 20 })) }),
      fc.record({ at, cut: fc.nat({ max: 200 }) }),
    ),
    { minLength: 1, maxLength: 5 },
  );
}

export function edit(
  xml: string,
  edits: readonly ({ at: number; insert: string } | { at: number; cut: number })[],
): string {
  let out = xml;
  for (const e of edits) {
    const at = Math.min(e.at, out.length);
    out =
      "insert" in e ? out.slice(0, at) + e.insert + out.slice(at) : out.slice(0, at) + out.slice(at + e.cut);
  }
  return out;
}

/** The cmr.xml reader on `xml`: the record and the facts granule choice takes from it. */
export function readCmr(xml: string): Promise<Outcome> {
  return outcomeOf(
    (e) => e instanceof CmrRecordError,
    async () => cmrGranuleFacts(parseCmrXml(xml)),
  );
}
