import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fromArrayBuffer } from "geotiff";
import { afterAll, describe, expect, it } from "vitest";
import { seededRandom } from "../../lib/random.ts";
import { openCog } from "../../lib/raster/cog.reader.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import type { PixelArray } from "../../lib/raster/raster.types.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { putBytes, ref } from "../../lib/storage/s3.objects.ts";
import { s3Source } from "../../lib/storage/s3.source.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("cog-window");
const s3 = createS3Client(config);
afterAll(() => s3.destroy());
const run = promisify(execFile);
const gdal = run("gdal_translate", ["--version"]).then(
  () => true,
  () => false,
);
const geo = { epsg: 32615, origin: [399960, 4700040] as [number, number], pixelSize: 30 };

/** The same windows through our reader (from S3) and through geotiff.js's own on the same bytes. */
async function expectSameWindows(name: string, bytes: Buffer, seed: number) {
  await putBytes(s3, ref(config.storage.work, name), bytes, "image/tiff");
  const ours = await openCog(s3Source(s3, ref(config.storage.work, name)));
  const reference = await (
    await fromArrayBuffer(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    )
  ).getImage();
  const [w, h] = [reference.getWidth(), reference.getHeight()];
  const random = seededRandom(seed);
  const windows: [number, number, number, number][] = [
    [0, 0, w, h],
    [w - 1, h - 1, w, h],
  ];
  for (let i = 0; i < 6; i++) {
    const x0 = Math.floor(random() * w);
    const y0 = Math.floor(random() * h);
    windows.push([
      x0,
      y0,
      x0 + 1 + Math.floor(random() * (w - x0)),
      y0 + 1 + Math.floor(random() * (h - y0)),
    ]);
  }
  for (const window of windows) {
    const options = { window, samples: [0], interleave: true };
    const got = (await ours.readRasters(options)) as unknown as PixelArray;
    const want = (await reference.readRasters(options)) as unknown as PixelArray;
    expect(got.constructor, name).toBe(want.constructor);
    expect(
      Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(
        Buffer.from(want.buffer, want.byteOffset, want.byteLength),
      ),
      `${name} ${window}`,
    ).toBe(true);
  }
}

function noisy<T extends PixelArray>(data: T, seed: number, scale: number, offset = 0): T {
  const random = seededRandom(seed);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(random() * scale) + offset;
  return data;
}

describe("windowed reads of COGs", () => {
  it.each([
    ["int16 with predictor", () => noisy(new Int16Array(700 * 530), 1, 6000, -3000), 256],
    ["uint8 palette", () => noisy(new Uint8Array(700 * 530), 2, 14), 512],
    ["uint16", () => noisy(new Uint16Array(700 * 530), 3, 65535), 256],
    ["float32 without predictor", () => noisy(new Float32Array(700 * 530), 4, 1000), 256],
  ] as const)("match geotiff.js's own reading for our %s files", async (name, make, tileSize) => {
    const data = make();
    const bytes = await encodeCog({ width: 700, height: 530, data, geo, nodata: 0 }, { tileSize });
    await expectSameWindows(`ours-${name.replace(/\W/g, "")}.tif`, bytes, tileSize);
  });

  it("match geotiff.js's for files GDAL writes: COG, tiled plain, stripped, big-endian", async (context) => {
    if (!(await gdal)) return context.skip();
    const dir = await mkdtemp(join(tmpdir(), "cog-window-"));
    try {
      const source = join(dir, "source.tif");
      await writeFile(
        source,
        await encodeCog({
          width: 700,
          height: 530,
          data: noisy(new Int16Array(700 * 530), 9, 9000),
          geo,
          nodata: -9999,
        }),
      );
      for (const [name, options] of [
        ["cog", ["-of", "COG", "-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=2", "-co", "BLOCKSIZE=256"]],
        ["tiled-plain", ["-co", "TILED=YES", "-co", "BLOCKXSIZE=128", "-co", "BLOCKYSIZE=128"]],
        ["stripped", ["-co", "TILED=NO", "-co", "COMPRESS=DEFLATE"]],
        ["big-endian", ["-co", "TILED=YES", "-co", "ENDIANNESS=BIG", "-co", "COMPRESS=DEFLATE"]],
      ] as const) {
        const target = join(dir, `${name}.tif`);
        await run("gdal_translate", ["-q", ...options, source, target]);
        await expectSameWindows(`gdal-${name}.tif`, await readFile(target), name.length);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
