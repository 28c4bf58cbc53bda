import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatS3Url } from "../../lib/core/s3.url.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import { boxNear } from "../support/cdl.fixtures.ts";
import { type StandIn, startStandIn } from "../support/http.standin.ts";
import { testConfig } from "../support/test.config.ts";
import { buildZip, entryOf } from "../support/zip.build.ts";

const bin = join(import.meta.dirname, "..", "..", "bin", "crop-map.js");
const config = testConfig("cdl-hostile");
let dir: string;
let served: string;
let server: StandIn;
let httpBase: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cdl-hostile-"));
  served = join(dir, "served");
  await mkdir(served);
  server = await startStandIn((_request, response, url) => {
    if (url.pathname === "/stalls.zip") {
      // A download that starts and never ends: a megabyte of a declared hundred, then nothing.
      response.writeHead(200, { "content-length": String(100 << 20) });
      response.write(Buffer.alloc(1 << 20));
      return;
    }
    const stream = createReadStream(join(served, url.pathname.slice(1)));
    stream.on("error", () => response.writeHead(404).end());
    stream.on("open", () => stream.pipe(response));
  });
  httpBase = server.url.slice(0, -1);
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

/** `cdl import` as a person runs it, with a temp folder of its own to see what it leaves behind. */
async function cdlImport(source: string, temp: string, extra: string[] = []) {
  const env = {
    ...process.env,
    TMPDIR: temp,
    CROP_MAP_S3_ENDPOINT: config.s3.endpoint ?? "",
    CROP_MAP_CDL_URL: formatS3Url(config.storage.cdl),
  };
  try {
    const { stdout, stderr } = await promisify(execFile)(
      "node",
      [bin, "cdl", "import", source, "--year", "2022", ...extra],
      { env },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    return error as { code: number; stdout: string; stderr: string };
  }
}

/** A small CDL raster on the national grid over Rhode Island: one 512 px tile, IFD first. */
const raster = () => {
  const box = boxNear(-71.5, 41.7, 40, 30);
  return encodeCog({
    width: 40,
    height: 30,
    data: new Uint8Array(40 * 30).map((_, i) => 1 + (i % 7)),
    geo: { epsg: 5070, origin: box.origin, pixelSize: 30 },
  });
};

describe("cdl import of hostile and broken inputs", () => {
  const cases: Record<string, () => Promise<{ source: string; line: RegExp }>> = {
    async "a 52-byte zip whose end record claims a 4 GB directory"() {
      const path = join(dir, "claims-4gb.zip");
      const localHeader = buildZip([entryOf("", Buffer.alloc(0), 0)]).subarray(0, 30);
      await writeFile(
        path,
        Buffer.concat([localHeader, buildZip([], { count: 1, length: 0xfffffff0, offset: 0 })]),
      );
      return {
        source: path,
        line: /^crop-map: cdl import: .*claims-4gb\.zip: the end record places a 4294967280-byte central directory at byte 0/,
      };
    },
    async "a zip bomb at a presigned URL"() {
      // 64 MiB of zeros that the directory says are 5 bytes.
      const bomb = { ...entryOf("2022_30m_cdls/2022_30m_cdls.tif", Buffer.alloc(64 << 20)), size: 5 };
      await writeFile(join(served, "bomb.zip"), buildZip([bomb]));
      return {
        source: `${httpBase}/bomb.zip?X-Amz-Credential=AKIDEXAMPLE&X-Amz-Signature=s3cr3t`,
        line: new RegExp(
          `^crop-map: cdl import: ${httpBase}/bomb\\.zip: 2022_30m_cdls/2022_30m_cdls\\.tif inflates past the 5 bytes it declares$`,
        ),
      };
    },
    async "a zip holding a truncated raster"() {
      const cog = await raster();
      const cut = cog.subarray(0, cog.length - 200);
      await writeFile(join(served, "cut.zip"), buildZip([entryOf("2022_30m_cdls.tif", cut)]));
      return {
        source: `${httpBase}/cut.zip`,
        line: new RegExp(
          `^crop-map: cdl import: ${httpBase}/cut\\.zip!2022_30m_cdls\\.tif: tile 0,0 \\(\\d+ bytes at byte \\d+\\) lies past the end of the ${cut.length}-byte file$`,
        ),
      };
    },
    async "a raster with a damaged tile"() {
      const cog = Buffer.from(await raster());
      // The tile's deflate stream overwritten in its middle (the tile is the file's last bytes).
      cog.fill(0xff, cog.length - 120, cog.length - 40);
      const path = join(dir, "damaged.tif");
      await writeFile(path, cog);
      return {
        source: path,
        line: /^crop-map: cdl import: .*damaged\.tif: tile 0,0 (does not inflate|decodes to)/,
      };
    },
  };

  it.for(Object.keys(cases))(
    "exits 2 with one line naming the source for %s, leaving no temp files",
    async (name) => {
      const { source, line } = await (cases[name] as () => Promise<{ source: string; line: RegExp }>)();
      const temp = await mkdtemp(join(dir, "tmp-"));
      const result = await cdlImport(source, temp);
      expect(result.stdout).not.toContain("written");
      const lines = result.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(line);
      expect(result.stderr).not.toContain("s3cr3t");
      expect(result.stderr).not.toContain("AKIDEXAMPLE");
      expect(result.code).toBe(2);
      // Only tsx's own cache (it runs the CLI) is left there; the import's folder is gone.
      expect((await readdir(temp)).filter((n) => !n.startsWith("tsx-"))).toEqual([]);
    },
  );

  it("leaves no temp files after a good import from a zip either", async () => {
    await writeFile(join(served, "good.zip"), buildZip([entryOf("2022_30m_cdls.tif", await raster())]));
    const temp = await mkdtemp(join(dir, "tmp-"));
    const result = await cdlImport(`${httpBase}/good.zip?X-Amz-Signature=s3cr3t`, temp, ["--state", "RI"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("1 state raster(s) written for 2022");
    expect(result.stdout).not.toContain("s3cr3t");
    expect((await readdir(temp)).filter((n) => !n.startsWith("tsx-"))).toEqual([]);
  });

  it("removes a download under way when interrupted (Ctrl-C), then ends as the signal says", async () => {
    const temp = await mkdtemp(join(dir, "tmp-"));
    const env = { ...process.env, TMPDIR: temp, CROP_MAP_S3_ENDPOINT: config.s3.endpoint ?? "" };
    const child = spawn("node", [bin, "cdl", "import", `${httpBase}/stalls.zip`, "--year", "2022"], { env });
    const exited = once(child, "exit");
    const importDir = async () => (await readdir(temp)).find((n) => n.startsWith("crop-map-cdl-"));
    // Wait for the download's first bytes on disk (the test's own timeout bounds the wait).
    for (;;) {
      const found = await importDir();
      if (found && (await readdir(join(temp, found))).length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill("SIGINT");
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: null, signal: "SIGINT" });
    expect(await importDir()).toBeUndefined();
  });
});
