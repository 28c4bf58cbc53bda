import { deflateSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { TiffError } from "../../lib/errors/reader.errors.ts";
import { openCog } from "../../lib/raster/cog.reader.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import { Tag } from "../../lib/raster/tiff.tags.ts";
import { bytesSource } from "../support/bytes.source.ts";
import { entryAt, patchEntry } from "../support/tiff.patch.ts";

/** 512 x 512 uint8 in four 256 px deflated tiles with predictor 2, no overviews: our writer's layout. */
let cog: Buffer;
const pixels = new Uint8Array(512 * 512).map((_, i) => (i % 512) ^ (i >> 9));

beforeAll(async () => {
  cog = await encodeCog(
    {
      width: 512,
      height: 512,
      data: pixels,
      geo: { epsg: 32615, origin: [500000, 4000000], pixelSize: 30 },
      nodata: 0,
    },
    { tileSize: 256, overviews: "none" },
  );
});

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

/** Opens `bytes` and reads its whole band on the window reader's path and on geotiff.js's. */
async function readBoth(bytes: Uint8Array, name = "memory.tif") {
  const image = await openCog(bytesSource(bytes, name));
  const fast = await image.readRasters({ samples: [0], interleave: true });
  const [slow] = (await image.readRasters({ samples: [0] })) as unknown as Uint8Array[];
  return { fast: fast as unknown as Uint8Array, slow: slow as Uint8Array };
}

describe("TIFF directory and tile checks", () => {
  it("reads our own COG from a byte source, pixels unchanged on both paths", async () => {
    const { fast, slow } = await readBoth(cog);
    expect(Buffer.from(fast).equals(Buffer.from(pixels))).toBe(true);
    expect(Buffer.from(slow).equals(Buffer.from(pixels))).toBe(true);
  });

  it.for([
    ["TileWidth 0", Tag.TileWidth, { value: 0 }, "memory.tif: TileWidth (322) 0 is outside 1 to 16384"],
    [
      "a TileByteCounts array shorter than the grid",
      Tag.TileByteCounts,
      { count: 2 },
      "memory.tif: TileByteCounts (325) holds 2 values; the 2 x 2 grid of 256 x 256 blocks needs 4",
    ],
    [
      "a TileOffsets array longer than the grid",
      Tag.TileOffsets,
      { count: 5 },
      "memory.tif: TileOffsets (324) holds 5 values; the 2 x 2 grid of 256 x 256 blocks needs 4",
    ],
    [
      "a tag count of 0x4000000 in a small file",
      Tag.ModelTiepoint,
      { count: 0x4000000 },
      /^memory\.tif: ModelTiepoint \(33922\) holds 67108864 values at byte \d+, past the end of the \d+-byte file$/,
    ],
    [
      "an unknown predictor",
      Tag.Predictor,
      { value: 7 },
      "memory.tif: Predictor (317) 7 is not one TIFF defines (1 none, 2 horizontal, 3 floating point)",
    ],
    [
      "an unknown compression",
      Tag.Compression,
      { value: 99 },
      /^memory\.tif: Compression \(259\) 99 is not one this reader decodes \(1 none, 5 LZW, .*8 deflate/,
    ],
    [
      "an ImageWidth of 0",
      Tag.ImageWidth,
      { value: 0 },
      "memory.tif: ImageWidth (256) 0 is outside 1 to 1048576",
    ],
    [
      "a GdalNodata of SHORTs (geotiff.js threw a TypeError on it)",
      Tag.GdalNodata,
      { type: 3 },
      "memory.tif: GdalNodata (42113) is of field type 3, not ASCII",
    ],
    [
      "an undefined field type",
      Tag.SampleFormat,
      { type: 99 },
      "memory.tif: SampleFormat (339) has field type 99, which TIFF does not define",
    ],
  ] as const)("refuses %s by name before reading pixels", async ([, tag, patch, message]) => {
    const source = bytesSource(patchEntry(cog, tag, patch));
    const error = await refusal(openCog(source));
    expect(error).toBeInstanceOf(TiffError);
    if (typeof message === "string") expect((error as Error).message).toBe(message);
    else expect((error as Error).message).toMatch(message);
    // Nothing sized by the claim: the largest read is the file itself.
    expect(source.largestRead).toBeLessThanOrEqual(cog.length);
  });

  it("refuses a 256 px tile that inflates to 64 MB, on both read paths", async () => {
    // The first tile's bytes replaced by a deflate of 64 MiB of zeros (64 kB), appended to the file.
    const bomb = deflateSync(Buffer.alloc(64 << 20));
    const offsetsAt = entryAt(cog, Tag.TileOffsets);
    const countsAt = entryAt(cog, Tag.TileByteCounts);
    const bytes = Buffer.concat([cog, bomb]);
    bytes.writeUInt32LE(cog.length, bytes.readUInt32LE(offsetsAt + 8));
    bytes.writeUInt32LE(bomb.length, bytes.readUInt32LE(countsAt + 8));
    const image = await openCog(bytesSource(bytes, "bomb.tif"));
    const fast = await refusal(image.readRasters({ samples: [0], interleave: true }));
    expect(fast).toBeInstanceOf(TiffError);
    expect((fast as Error).message).toMatch(/^bomb\.tif: tile 0,0 does not inflate to its 65536 bytes/);
    const slow = await refusal(image.readRasters({ samples: [0] }));
    expect(slow).toBeInstanceOf(TiffError);
    expect((slow as Error).message).toMatch(
      /^bomb\.tif: a 256 x 256 block does not inflate to its 65536 bytes/,
    );
  });

  it("refuses a file cut short naming it, not with zlib's bare words", async () => {
    const cut = cog.subarray(0, cog.length - 1000);
    const image = await openCog(bytesSource(cut, "cut.tif"));
    const fast = await refusal(image.readRasters({ samples: [0], interleave: true }));
    expect(fast).toBeInstanceOf(TiffError);
    expect((fast as Error).message).toMatch(
      /^cut\.tif: tile 1,1 \(\d+ bytes at byte \d+\) lies past the end of the \d+-byte file$/,
    );
    const slow = await refusal(image.readRasters({ samples: [0] }));
    expect(slow).toBeInstanceOf(TiffError);
    expect((slow as Error).message).toMatch(/^cut\.tif: /);
  });

  it("refuses what is not a TIFF, and a directory past the end of the file", async () => {
    expect(String(await refusal(openCog(bytesSource(Buffer.from("GIF89a....."), "x.gif"))))).toContain(
      "x.gif: not a TIFF (no II or MM byte order mark)",
    );
    const moved = Buffer.from(cog);
    moved.writeUInt32LE(0x7ffffff0, 4);
    const error = await refusal(openCog(bytesSource(moved)));
    expect(error).toBeInstanceOf(TiffError);
    expect((error as Error).message).toMatch(
      /^memory\.tif: the first directory \(2 bytes at byte 2147483632\) lies past the end/,
    );
  });
});
