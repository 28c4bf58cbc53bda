import { execFile } from "node:child_process";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { fromArrayBuffer, fromFile } from "geotiff";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelWindow } from "../../lib/accuracy/label.window.ts";
import { ClassPalette } from "../../lib/cdl/classes.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import { formatS3Url } from "../../lib/core/s3.url.ts";
import type { PixelGrid } from "../../lib/grid/lattice.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import { stateExtent } from "../../lib/region/state.extent.ts";
import { findState } from "../../lib/region/us.states.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getBytes, putBytes, ref } from "../../lib/storage/s3.objects.ts";
import { boxNear, gdal, gdalAvailable, stateExtract, stateMask } from "../support/cdl.fixtures.ts";
import { testConfig } from "../support/test.config.ts";

const bin = join(import.meta.dirname, "..", "..", "bin", "crop-map.js");
const stack = testConfig("cdl-import");
const s3 = createS3Client(stack);
const python = promisify(execFile)("python3", ["--version"]).then(
  () => true,
  () => false,
);
/** EPSG:5070's parameters as a user-defined Albers, the way CropScape extracts are often tagged. */
const UserDefinedAlbers =
  "+proj=aea +lat_0=23 +lon_0=-96 +lat_1=29.5 +lat_2=45.5 +x_0=0 +y_0=0 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs";

let dir: string;
let server: Server;
let httpBase: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cdl-import-"));
  await mkdir(join(dir, "served"));
  // A stand-in for USDA's and CropScape's servers, which this machine cannot reach.
  server = createServer((request, response) => {
    const name = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname.slice(1));
    const stream = createReadStream(join(dir, "served", name));
    stream.on("error", () => response.writeHead(404).end());
    stream.on("open", () => stream.pipe(response));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  httpBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  s3.destroy();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function cdlImport(config: Config, args: string[]): Promise<Result> {
  const env = {
    ...process.env,
    CROP_MAP_S3_ENDPOINT: config.s3.endpoint ?? "",
    CROP_MAP_CDL_URL: formatS3Url(config.storage.cdl),
  };
  try {
    const { stdout, stderr } = await promisify(execFile)("node", [bin, "cdl", "import", ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as Result;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function cdlKeys(config: Config): Promise<string[]> {
  const listed = await s3.send(
    new ListObjectsV2Command({ Bucket: config.storage.cdl.bucket, Prefix: config.storage.cdl.prefix }),
  );
  return (listed.Contents ?? []).map((o) => (o.Key ?? "").slice(config.storage.cdl.prefix.length)).sort();
}

/** `gdal_translate -of GTiff -co TILED=NO` of a file, with extra arguments: a plain stripped GeoTIFF. */
async function stripped(input: string, output: string, args: string[]): Promise<string> {
  await gdal("gdal_translate", ["-q", "-of", "GTiff", "-co", "TILED=NO", ...args, input, output]);
  return output;
}

async function writeTemp(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

const padded = (grid: PixelGrid, by: number) => ({
  epsg: 5070,
  origin: [grid.origin[0] - by * 30, grid.origin[1] + by * 30] as [number, number],
  pixelSize: 30,
  width: grid.width + 2 * by,
  height: grid.height + 2 * by,
});

describe("cdl import of a state extract rewritten by GDAL", () => {
  const ri = stateExtent(findState("RI") as NonNullable<ReturnType<typeof findState>>);
  // Codes in patches of 16 px, with 99 and 200 (not in the class table) among them.
  const code = (col: number, row: number) =>
    [1, 5, 141, 111, 99, 121, 24, 200, 176][((col >> 4) + (row >> 4)) % 9] as number;
  const original = ref(stack.storage.cdl, "2022/CDL_2022_44.tif");
  let originalFile: string;
  let strippedFile: string;

  beforeAll(async () => {
    const bytes = await stateExtract("RI", ri.grid, code, { colorMap: ClassPalette });
    await putBytes(s3, original, bytes, "image/tiff");
    originalFile = await writeTemp("original.tif", bytes);
  });

  it("writes a stripped GeoTIFF with user-defined Albers (the test's input is what it claims)", async (context) => {
    if (!(await gdalAvailable)) return context.skip();
    strippedFile = await stripped(originalFile, join(dir, "CDL_2022_44.tif"), ["-a_srs", UserDefinedAlbers]);
    const tiff = await fromFile(strippedFile);
    const image = await tiff.getImage();
    expect(image.isTiled).toBe(false);
    expect(image.getGeoKeys()).toMatchObject({ ProjectedCSTypeGeoKey: 32767, ProjCoordTransGeoKey: 11 });
    expect(image.getGeoKeys()?.GeogTOWGS84GeoKey).toBeDefined();
    await tiff.close();
  });

  async function importedEqualsOriginal(config: Config, result: Result) {
    expect(result.stderr).not.toMatch(/crop-map:/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^RI {2}s3:\/\/\S+\/2022\/CDL_2022_44\.tif {2}2292 x 3261 px, 100\.0 % of Rhode Island/m,
    );
    expect(result.stdout).toMatch(/^MA {2}skipped/m); // a neighbour the box reaches into
    expect(await cdlKeys(config)).toEqual(["2022/CDL_2022_44.tif"]);
    const grid = padded(ri.grid, 20);
    const want = await labelWindow(s3, [original], grid);
    const got = await labelWindow(s3, [ref(config.storage.cdl, "2022/CDL_2022_44.tif")], grid);
    expect(want.classes.filter((c) => c !== 0).length).toBeGreaterThan(1_000_000);
    expect(want.ignored).toBeGreaterThan(100_000);
    expect(Buffer.from(got.classes).equals(Buffer.from(want.classes))).toBe(true);
    expect(got.ignored).toBe(want.ignored);

    const bytes = await getBytes(s3, ref(config.storage.cdl, "2022/CDL_2022_44.tif"));
    const tiff = await fromArrayBuffer(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    );
    const image = await tiff.getImage();
    expect(image.isTiled).toBe(true);
    expect(await tiff.getImageCount()).toBeGreaterThan(1); // overviews
    expect(image.getGeoKeys()?.ProjectedCSTypeGeoKey).toBe(5070);
    const palette = (await image.fileDirectory.loadValue("ColorMap")) as ArrayLike<number>;
    expect(Array.from(palette).slice(0, 256 * 3)).toEqual(
      [0, 1, 2].flatMap((c) => ClassPalette.map((rgb) => (rgb[c] as number) * 257)),
    );
    return bytes;
  }

  it("imports it from a file, byte-identically again on a re-import", async (context) => {
    if (!(await gdalAvailable)) return context.skip();
    const config = testConfig("cdl-import-file");
    const first = await importedEqualsOriginal(
      config,
      await cdlImport(config, [strippedFile, "--year", "2022"]),
    );
    expect(await cdlImport(config, [strippedFile, "--year", "2022"])).toMatchObject({ code: 0 });
    const again = await getBytes(s3, ref(config.storage.cdl, "2022/CDL_2022_44.tif"));
    expect(Buffer.from(again).equals(Buffer.from(first))).toBe(true);
  });

  it("imports it from s3://", async (context) => {
    if (!(await gdalAvailable)) return context.skip();
    const config = testConfig("cdl-import-s3");
    const incoming = ref(stack.storage.hls, "incoming/CDL_2022_44.tif");
    await putBytes(s3, incoming, await readFile(strippedFile), "image/tiff");
    await importedEqualsOriginal(
      config,
      await cdlImport(config, [`s3://${incoming.bucket}/${incoming.key}`, "--year", "2022"]),
    );
  });

  it("imports it as the GeoTIFF inside a .zip over HTTP", async (context) => {
    if (!(await gdalAvailable) || !(await python)) return context.skip();
    const config = testConfig("cdl-import-http");
    // Named like USDA's national file, with a sidecar beside it as in the real archive.
    await copyFile(strippedFile, join(dir, "2022_30m_cdls.tif"));
    await writeTemp("2022_30m_cdls.htm", Buffer.from("<html>metadata</html>"));
    const script =
      "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n" +
      "    for f in sys.argv[2:]: z.write(f, '2022_30m_cdls/' + f.split('/')[-1])";
    await promisify(execFile)("python3", [
      "-c",
      script,
      join(dir, "served", "2022_30m_cdls.zip"),
      join(dir, "2022_30m_cdls.htm"),
      join(dir, "2022_30m_cdls.tif"),
    ]);
    await importedEqualsOriginal(
      config,
      await cdlImport(config, [`${httpBase}/2022_30m_cdls.zip`, "--year", "2022"]),
    );
  });
});

describe("cdl import of a raster across a state line", () => {
  // National-like: labels everywhere in a box over the Rhode Island / Connecticut line.
  const box = boxNear(-71.84, 41.62, 300, 200);
  const code = (col: number) => (col < 150 ? 1 : 5);
  let file: string;

  beforeAll(async () => {
    const data = new Uint8Array(box.width * box.height).map((_, i) => code(i % box.width));
    file = await writeTemp(
      "line.tif",
      await encodeCog({
        width: box.width,
        height: box.height,
        data,
        geo: { epsg: 5070, origin: box.origin, pixelSize: 30 },
      }),
    );
  });

  it("writes no state it labels only partly unless the states are named", async () => {
    const config = testConfig("cdl-import-line");
    const refused = await cdlImport(config, [file, "--year", "2021"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      "labels no state to at least 50 %: name the states to import with --state",
    );
    expect(await cdlKeys(config)).toEqual([]);

    const result = await cdlImport(config, [file, "--year", "2021", "--state", "RI", "Connecticut"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(await cdlKeys(config)).toEqual(["2021/CDL_2021_09.tif", "2021/CDL_2021_44.tif"]);
    const rasters = ["09", "44"].map((fips) => ref(config.storage.cdl, `2021/CDL_2021_${fips}.tif`));
    const grid = { epsg: 5070, ...box };
    // Each state's raster holds the source inside its own outline and nothing outside it.
    for (const [postal, raster] of [
      ["CT", rasters[0]],
      ["RI", rasters[1]],
    ] as const) {
      const inside = stateMask(postal, box);
      const { classes } = await labelWindow(s3, [raster as NonNullable<typeof raster>], grid);
      const want = inside.map((v, i) => (v ? (code(i % box.width) === 1 ? 3 : 4) : 0));
      expect(inside.reduce((n, v) => n + v, 0)).toBeGreaterThan(10_000);
      expect(Buffer.from(classes).equals(Buffer.from(want))).toBe(true);
    }
  });
});

describe("cdl import refusals", () => {
  const box = boxNear(-71.5, 41.7, 40, 30);
  const year = new Date().getUTCFullYear();
  const files: Record<string, string> = {};

  beforeAll(async () => {
    const raster = (
      origin: [number, number],
      data: Uint8Array | Int16Array = new Uint8Array(40 * 30).fill(1),
    ) => encodeCog({ width: 40, height: 30, data, geo: { epsg: 5070, origin, pixelSize: 30 } });
    files.good = await writeTemp("good.tif", await raster(box.origin));
    files.shifted = await writeTemp("shifted.tif", await raster([box.origin[0] + 15, box.origin[1]]));
    files.int16 = await writeTemp("int16.tif", await raster(box.origin, new Int16Array(40 * 30).fill(1)));
    files.named2021 = await writeTemp("CDL_2021_44.tif", await raster(box.origin));
    if (await gdalAvailable) {
      files.lcc = await stripped(files.good, join(dir, "lcc.tif"), [
        "-a_srs",
        "+proj=lcc +lat_0=23 +lon_0=-96 +lat_1=33 +lat_2=45 +x_0=0 +y_0=0 +datum=NAD83 +units=m +no_defs",
      ]);
      files.utm = await stripped(files.good, join(dir, "utm.tif"), ["-a_srs", "EPSG:32619"]);
    }
  });

  it.for([
    ["shifted", "2022", [], "shifted.tif: origin 20", "is off the national CDL grid by 15 m in x, 0 m in y"],
    [
      "int16",
      "2022",
      [],
      "int16.tif: 1 band(s) of 16-bit signed values; a CDL raster is one band of uint8 codes",
    ],
    ["lcc", "2022", [], "lcc.tif: user-defined projection", "ProjCoordTransGeoKey=8 (LambertConfConic_2SP)"],
    ["utm", "2022", [], "utm.tif is EPSG:32619; CDL rasters are EPSG:5070"],
    ["good", "20x2", [], 'year="20x2": expected a year such as 2022'],
    ["good", "2007", [], 'year="2007": the national CDL starts in 2008'],
    ["good", String(year), [], `year="${year}": has no CDL yet`],
    ["good", "2022", ["--state", "RI", "XX"], 'state.1="XX": unknown state'],
    ["good", "2022", ["--state", "CA"], "state=CA: California does not meet"],
    ["named2021", "2022", [], "year=2022: ", "holds CDL_2021_44.tif, the 2021 CDL"],
    ["missing", "2022", [], "source '/no/such/cdl.tif': no such file"],
    ["http404", "2022", [], "/nothing.tif: HTTP 404"],
  ] as const)(
    "exits 2 naming the problem for %s --year %s %j, writing nothing",
    async ([name, y, extra, ...messages], context) => {
      const source =
        name === "missing"
          ? "/no/such/cdl.tif"
          : name === "http404"
            ? `${httpBase}/nothing.tif`
            : files[name];
      if (!source) return context.skip(); // GDAL-written inputs where gdal-bin is missing
      const config = testConfig("cdl-import-refused");
      const result = await cdlImport(config, [source, "--year", y, ...extra]);
      expect(result.code).toBe(2);
      const lines = result.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      for (const message of messages) expect(lines[0]).toContain(message);
      expect(result.stdout).toBe("");
      expect(await cdlKeys(config)).toEqual([]);
    },
  );

  it("names a URL source without its query, where a presigned URL's signature is", async () => {
    const config = testConfig("cdl-import-signed");
    const result = await cdlImport(config, [
      `${httpBase}/nothing.tif?X-Amz-Signature=5ecret99`,
      "--year",
      "2022",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      `crop-map: cdl import: source ${httpBase}/nothing.tif: HTTP 404 Not Found`,
    );
    expect(result.stderr).not.toContain("5ecret99");
  });

  it("imports the good raster with the same arguments otherwise", async () => {
    const config = testConfig("cdl-import-good");
    const result = await cdlImport(config, [files.good as string, "--year", "2022", "--state", "RI"]);
    expect(result.code).toBe(0);
    expect(await cdlKeys(config)).toEqual(["2022/CDL_2022_44.tif"]);
  });
});
