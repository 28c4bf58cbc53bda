import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromArrayBuffer } from "geotiff";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../lib/random.ts";
import { CogStripWriter } from "../../lib/raster/cog.strip.writer.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import { halve } from "../../lib/raster/overviews.ts";
import type { PixelArray } from "../../lib/raster/raster.types.ts";
import { tiffLayout } from "../support/tiff.layout.ts";

async function open(bytes: Buffer) {
  return fromArrayBuffer(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
  );
}

const geo = { epsg: 32615, origin: [399960, 4700040] as [number, number], pixelSize: 30 };

describe("COG writer", () => {
  it.each([
    ["int16", () => new Int16Array(700 * 301)],
    ["uint8", () => new Uint8Array(700 * 301)],
    ["uint16", () => new Uint16Array(700 * 301)],
    ["float32", () => new Float32Array(700 * 301)],
  ])("round-trips %s pixels, georeferencing and nodata through geotiff.js", async (_, make) => {
    const data = make() as PixelArray;
    const random = seededRandom(5);
    for (let i = 0; i < data.length; i++)
      data[i] = Math.floor(random() * 200) - (data instanceof Int16Array ? 100 : 0);
    const bytes = await encodeCog({ width: 700, height: 301, data, geo, nodata: 0 }, { tileSize: 256 });
    const image = await (await open(bytes)).getImage();
    expect([image.getWidth(), image.getHeight()]).toEqual([700, 301]);
    expect(image.getOrigin().slice(0, 2)).toEqual(geo.origin);
    expect(image.getResolution().slice(0, 2)).toEqual([30, -30]);
    expect(image.getGeoKeys()?.ProjectedCSTypeGeoKey).toBe(32615);
    expect(image.getGDALNoData()).toBe(0);
    expect(image.getTileWidth()).toBe(256);
    const read = (await image.readRasters({ interleave: true })) as unknown as PixelArray;
    expect(Array.from(read)).toEqual(Array.from(data));
  });

  it.each([
    ["on libuv's pool", false],
    ["on the calling thread", true],
  ])(
    "encodes the bytes it encoded before the tile cut and predictor became one pass, compressing %s",
    async (_, syncDeflate) => {
      const digest = createHash("md5");
      for (const [make, nodata, overviews] of [
        [() => new Int16Array(700 * 301), -9999, "none"],
        [() => new Uint8Array(700 * 301), 255, "nearest"],
        [() => new Uint16Array(700 * 301), 0, "average"],
        [() => new Float32Array(700 * 301), -1, "average"],
      ] as const) {
        const data = make() as PixelArray;
        const random = seededRandom(5);
        for (let i = 0; i < data.length; i++) data[i] = random() < 0.1 ? nodata : Math.floor(random() * 200);
        const raster = { width: 700, height: 301, data, geo, nodata };
        digest.update(await encodeCog(raster, { tileSize: 256, overviews, deflateLevel: 1, syncDeflate }));
      }
      // MD5 of the four files as the separate cut, fill and predictor passes of commit 80695cc wrote them.
      expect(digest.digest("hex")).toBe("c89fc978d98ab846c9d85f0a0794f85f");
    },
  );

  it("lays out IFDs first, overviews after the main image, smallest overview data first", async () => {
    const data = new Uint8Array(1100 * 600).map((_, i) => i % 13);
    const bytes = await encodeCog(
      { width: 1100, height: 600, data, geo, nodata: 0 },
      {
        tileSize: 256,
        overviews: "nearest",
        colorMap: [
          [0, 0, 0],
          [255, 0, 0],
        ],
      },
    );
    const { levels, ghost } = tiffLayout(bytes);
    expect(ghost).toContain("LAYOUT=IFDS_BEFORE_DATA");
    expect(levels.map((l) => [l.width, l.height, l.subfileType])).toEqual([
      [1100, 600, 0],
      [550, 300, 1],
      [275, 150, 1],
      [138, 75, 1],
    ]);
    const lastIfdByte = Math.max(...levels.map((l) => l.ifdEnd));
    const firstData = Math.min(...levels.flatMap((l) => l.tileOffsets));
    expect(lastIfdByte).toBeLessThanOrEqual(firstData);
    const starts = levels.map((l) => Math.min(...l.tileOffsets));
    expect(starts[3]).toBeLessThan(starts[2] as number);
    expect(starts[2]).toBeLessThan(starts[1] as number);
    expect(starts[1]).toBeLessThan(starts[0] as number);
    // GDAL's block leader (size) and trailer (last 4 bytes repeated) around every tile.
    const view = Buffer.from(bytes);
    for (const level of levels) {
      level.tileOffsets.forEach((offset, i) => {
        const size = level.tileByteCounts[i] as number;
        expect(view.readUInt32LE(offset - 4)).toBe(size);
        expect(
          view
            .subarray(offset + size, offset + size + 4)
            .equals(view.subarray(offset + size - 4, offset + size)),
        ).toBe(true);
      });
    }

    const tiff = await open(bytes);
    expect(await tiff.getImageCount()).toBe(4);
    const main = await tiff.getImage(0);
    expect(((await main.fileDirectory.loadValue("ColorMap")) as number[] | undefined)?.[1]).toBe(65535); // red of index 1
  });

  it("starts every IFD on a word boundary whatever the length of the GDAL metadata before it", async () => {
    for (const name of ["a", "ab", "abc", "abcd"]) {
      const bytes = await encodeCog(
        { width: 600, height: 600, data: new Uint8Array(600 * 600), geo, nodata: 0 },
        { tileSize: 256, overviews: "nearest", metadata: { [name]: "x" } },
      );
      const { levels } = tiffLayout(bytes);
      expect(levels.length).toBeGreaterThan(1);
      for (const level of levels) expect(level.ifdOffset % 2, `${name} at ${level.ifdOffset}`).toBe(0);
    }
  });

  it("averages valid pixels only when it halves, and keeps class values with nearest", () => {
    const data = new Int16Array([10, 20, -9999, 40, 1, 1, 1, 1, 7, 8, -9999, -9999]);
    // (10 + 20 + 1 + 1) / 4, (40 + 1 + 1) / 3 without the nodata, (7 + 8) / 2 rounded, all nodata.
    expect(Array.from(halve(data, 4, 3, "average", -9999).data)).toEqual([8, 14, 8, -9999]);
    expect(Array.from(halve(data, 4, 3, "nearest", -9999).data)).toEqual([10, -9999, 7, -9999]);
  });

  it("writes scale, offset and dataset metadata where GDAL looks for them", async () => {
    const bytes = await encodeCog(
      { width: 10, height: 10, data: new Int16Array(100), geo, nodata: -9999 },
      { scale: 0.0001, offset: 0, metadata: { _FillValue: "-9999" } },
    );
    const image = await (await open(bytes)).getImage();
    expect(await image.getGDALMetadata()).toMatchObject({ _FillValue: "-9999" });
    expect(image.getGDALNoData()).toBe(-9999);
    expect(String(await image.fileDirectory.loadValue("GDAL_METADATA"))).toContain(
      '<Item name="SCALE" sample="0" role="scale">0.0001</Item>',
    );
  });

  it.each([
    [1100, 600, 128, 100, "nearest"],
    [513, 1025, 256, 77, "average"],
    [300, 200, 256, 200, "none"],
    [2049, 513, 256, 513, "nearest"],
  ] as const)(
    "writes a %dx%d raster in strips byte-identical to encodeCog (tiles %d, strips of %d rows, %s)",
    async (width, height, tileSize, strip, overviews) => {
      const random = seededRandom(width);
      const data = new Int16Array(width * height).map(() =>
        random() < 0.05 ? -9999 : Math.floor(random() * 3000),
      );
      const raster = { width, height, data, geo, nodata: -9999 };
      const options = { tileSize, overviews, metadata: { odd: "x" } } as const;
      const dir = await mkdtemp(join(tmpdir(), "strip-"));
      try {
        const writer = await CogStripWriter.create({ ...raster, data: new Int16Array(0) }, options, dir);
        for (let row = 0; row < height; row += strip)
          await writer.append(data.subarray(row * width, Math.min(height, row + strip) * width));
        const path = join(dir, "out.tif");
        const { bytes } = await writer.finish(path);
        const written = await readFile(path);
        expect(written.length).toBe(bytes);
        expect(written.equals(await encodeCog(raster, options))).toBe(true);
        expect(await readdir(dir)).toEqual(["out.tif"]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it("writes blocks of a tile row (left to right, the last narrower) byte-identical to encodeCog at its deflate level, and refuses a block across a tile row", async () => {
    const [width, height, tileSize, blockWidth] = [1000, 700, 256, 384];
    const random = seededRandom(5);
    const data = new Uint8Array(width * height).map(() =>
      random() < 0.05 ? 255 : Math.floor(random() * 100),
    );
    const raster = { width, height, data, geo, nodata: 255 };
    const dir = await mkdtemp(join(tmpdir(), "blocks-"));
    try {
      const written: Buffer[] = [];
      // Level 6 is the default; the mosaic's COGs are written at level 1 by default.
      for (const deflateLevel of [undefined, 1]) {
        const options = {
          tileSize,
          overviews: "average",
          ...(deflateLevel ? { deflateLevel } : {}),
        } as const;
        const writer = await CogStripWriter.create({ ...raster, data: new Uint8Array(0) }, options, dir);
        await expect(writer.appendBlock(new Uint8Array(300 * 10), 0, 10)).rejects.toThrow(
          "is not whole rows within the raster's 1000 x 700 and the tile row",
        );
        for (let row0 = 0; row0 < height; row0 += tileSize)
          for (let col0 = 0; col0 < width; col0 += blockWidth) {
            const rows = Math.min(tileSize, height - row0);
            const cols = Math.min(blockWidth, width - col0);
            const block = new Uint8Array(rows * cols);
            for (let r = 0; r < rows; r++)
              block.set(data.subarray((row0 + r) * width + col0, (row0 + r) * width + col0 + cols), r * cols);
            await writer.appendBlock(block, col0, cols);
          }
        const path = join(dir, "out.tif");
        await writer.finish(path);
        written.push(await readFile(path));
        expect((written.at(-1) as Buffer).equals(await encodeCog(raster, options))).toBe(true);
      }
      // Halved tile rows go two to a tile row of the next level, which needs an even tile size.
      await expect(
        CogStripWriter.create(
          { ...raster, data: new Uint8Array(0) },
          { tileSize: 255, overviews: "nearest" },
          dir,
        ),
      ).rejects.toThrow("tile size 255 is odd");
      const [six, one] = written as [Buffer, Buffer];
      expect(one.equals(six)).toBe(false);
      // Only the bytes differ: every level's pixels are the raster's, overviews included.
      for (const [file, level] of [
        [one, 0],
        [one, 2],
        [six, 2],
      ] as const) {
        const image = await (await open(file)).getImage(level);
        const expected =
          level === 0
            ? data
            : halve(halve(data, width, height, "average", 255).data, 500, 350, "average", 255).data;
        const read = (await image.readRasters({ interleave: true })) as unknown as Uint8Array;
        expect(Buffer.from(read).equals(Buffer.from(expected)), `level ${level}`).toBe(true);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
