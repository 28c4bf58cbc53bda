import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { fromArrayBuffer } from "geotiff";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdlToClassLut } from "../../lib/cdl/classes.ts";
import { formatGranuleId, parseGranuleId } from "../../lib/contracts/granule.id.ts";
import { CdlEpsg, NationalCdlGrid, transform } from "../../lib/grid/crs.ts";
import { findTile } from "../../lib/grid/tile.table.ts";
import { cmrGranuleFacts, parseCmrXml } from "../../lib/hls/cmr.xml.ts";
import { FmaskBit, FmaskFill, HlsFill } from "../../lib/hls/fmask.ts";
import { createS3Archive } from "../../lib/hls/hls.archive.ts";
import { bandKey, cmrXmlKey, ModelBands, stacItemKey } from "../../lib/hls/lpdaac.keys.ts";
import { seededRandom } from "../../lib/random.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getBytes, getJson, ref } from "../../lib/storage/s3.objects.ts";
import { createGround } from "../../scripts/synth/ground.ts";
import { profileForState } from "../../scripts/synth/profiles.ts";
import { granuleIdFor } from "../../scripts/synth/schedule.ts";
import { prepareTileGround, renderGranule } from "../../scripts/synth/tile.render.ts";
import type { WorldManifest } from "../../scripts/synth/world.manifest.ts";
import { planWorld, type WorldPlan } from "../../scripts/synth/world.plan.ts";
import { writeWorld } from "../../scripts/synth/world.writer.ts";
import { testConfig } from "../support/test.config.ts";
import { tiffLayout } from "../support/tiff.layout.ts";

const config = testConfig("synth");
const s3 = createS3Client(config);
const input = {
  state: "RI",
  year: 2022,
  scale: "small",
  seed: 11,
  season: { start: "06-01", end: "08-31" },
} as const;
let plan: WorldPlan;
let manifest: WorldManifest;

async function readImage(key: string, location = config.storage.hls) {
  const bytes = await getBytes(s3, ref(location, key));
  const tiff = await fromArrayBuffer(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
  );
  return { bytes, tiff, image: await tiff.getImage() };
}

/** Every key under the world's locations, relative to them, in order. */
async function listWorld(at = config): Promise<{ location: "hls" | "cdl"; key: string }[]> {
  const keys: { location: "hls" | "cdl"; key: string }[] = [];
  for (const location of ["hls", "cdl"] as const) {
    const { bucket, prefix } = at.storage[location];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? [])
        keys.push({ location, key: (o.Key as string).slice(prefix.length) });
      token = page.NextContinuationToken;
    } while (token);
  }
  return keys.sort((a, b) => `${a.location}/${a.key}`.localeCompare(`${b.location}/${b.key}`));
}

async function countObjects(): Promise<number> {
  let total = 0;
  for (const location of [config.storage.hls, config.storage.cdl]) {
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: location.bucket,
          Prefix: location.prefix,
          ContinuationToken: token,
        }),
      );
      total += page.KeyCount ?? 0;
      token = page.NextContinuationToken;
    } while (token);
  }
  return total;
}

beforeAll(async () => {
  plan = planWorld({ ...input });
  ({ manifest } = await writeWorld(plan, { s3, config, threads: 2 }));
});
afterAll(() => s3.destroy());

describe("synthetic world on S3", () => {
  it("writes every granule of every tile as six band COGs, Fmask and a catalogue sidecar", async () => {
    expect(manifest.tiles.map((t) => t.tileId)).toEqual([
      "18TYL",
      "18TYM",
      "19TBF",
      "19TBG",
      "19TCF",
      "19TCG",
    ]);
    const granules = manifest.tiles.flatMap((t) => t.granules);
    expect(granules.length).toBeGreaterThan(30);
    expect(new Set(granules.map((g) => parseGranuleId(g.id).product))).toEqual(new Set(["S30", "L30"]));
    expect(await countObjects()).toBe(granules.length * 9 + 2); // 7 COGs, cmr.xml, STAC; + labels + manifest
    for (const granule of [granules[0], granules.find((g) => g.id.startsWith("HLS.L30"))]) {
      const sample = parseGranuleId(granule?.id as string);
      const sidecar = (await getJson(s3, ref(config.storage.hls, stacItemKey(sample)))) as {
        properties: Record<string, unknown>;
      };
      expect(sidecar.properties["eo:cloud_cover"]).toBe(granule?.cloudCover);
      const record = await createS3Archive(s3, config.storage.hls).getText(cmrXmlKey(sample));
      expect(cmrGranuleFacts(parseCmrXml(record ?? ""))).toMatchObject({
        tileId: sample.tileId,
        cloudCover: granule?.cloudCover,
        spatialCoverage: granule?.spatialCoverage,
      });
    }
  });

  it("writes band COGs in HLS v2.0 form on the tile's own UTM grid", async () => {
    const tile = manifest.tiles.find((t) => t.tileId === "19TCG") as WorldManifest["tiles"][number];
    const id = parseGranuleId(tile.granules[0]?.id as string);
    for (const band of [...ModelBands[id.product], "Fmask"]) {
      const { image } = await readImage(bandKey(id, band));
      expect(image.getGeoKeys()?.ProjectedCSTypeGeoKey).toBe(32619);
      expect(image.getOrigin().slice(0, 2)).toEqual(tile.origin);
      expect(image.getResolution().slice(0, 2)).toEqual([30, -30]);
      expect([image.getWidth(), image.getHeight()]).toEqual([480, 480]);
      expect(image.getTileWidth()).toBe(512);
      if (band === "Fmask") {
        expect(image.getSampleFormat()).toBe(1);
        expect(image.getBitsPerSample()).toBe(8);
        expect(image.getGDALNoData()).toBe(FmaskFill);
      } else {
        expect(image.getSampleFormat()).toBe(2);
        expect(image.getBitsPerSample()).toBe(16);
        expect(image.getGDALNoData()).toBe(HlsFill);
        expect(await image.getGDALMetadata()).toMatchObject({ scale_factor: "0.0001", _FillValue: "-9999" });
      }
    }
    // The window sits on the full tile's pixel grid.
    const full = findTile("19TCG");
    expect((tile.origin[0] - (full?.origin[0] ?? 0)) % 30).toBe(0);
    expect(((full?.origin[1] ?? 0) - tile.origin[1]) % 30).toBe(0);
  });

  it("keeps the COG layout: IFDs before data, GDAL's layout marker, overviews after the main image", async () => {
    const id = parseGranuleId(manifest.tiles[0]?.granules[0]?.id as string);
    const band = tiffLayout((await readImage(bandKey(id, "B04"))).bytes);
    expect(band.ghost).toContain("LAYOUT=IFDS_BEFORE_DATA");
    expect(band.levels[0]?.tileWidth).toBe(512);
    expect(band.levels[0]?.ifdEnd).toBeLessThanOrEqual(Math.min(...(band.levels[0]?.tileOffsets ?? [])));

    const labels = tiffLayout((await readImage(`2022/CDL_2022_44.tif`, config.storage.cdl)).bytes);
    expect(labels.levels.length).toBeGreaterThan(1);
    expect(labels.levels.map((l) => l.subfileType)).toEqual([0, ...labels.levels.slice(1).map(() => 1)]);
    const widths = labels.levels.map((l) => l.width);
    expect([...widths].sort((a, b) => b - a)).toEqual(widths);
    const lastIfd = Math.max(...labels.levels.map((l) => l.ifdEnd));
    expect(lastIfd).toBeLessThanOrEqual(Math.min(...labels.levels.flatMap((l) => l.tileOffsets)));
  });

  it("stores exactly what the generator renders, with Fmask bits and fill matching the pixels", async () => {
    const ground = createGround(profileForState("RI"), input.seed);
    const planned = plan.tiles.find((t) => t.tile.tileId === "19TBG") as WorldPlan["tiles"][number];
    const prepared = prepareTileGround(planned.window, ground);
    const cloudy = planned.acquisitions.filter((a) => a.cloudTarget > 0.05 || a.swath).slice(0, 3);
    expect(cloudy.length).toBeGreaterThan(0);
    for (const acquisition of cloudy) {
      const id = granuleIdFor(planned.tile, input.year, acquisition, planned.centreLon);
      const rendered = renderGranule(prepared, acquisition);
      if (rendered.spatialCoverage === 0) continue;
      const fmask = (await (
        await readImage(bandKey(id, "Fmask"))
      ).image.readRasters({ interleave: true })) as unknown as Uint8Array;
      const blue = (await (
        await readImage(bandKey(id, ModelBands[id.product][0]))
      ).image.readRasters({ interleave: true })) as unknown as Int16Array;
      expect(Array.from(fmask)).toEqual(Array.from(rendered.fmask));
      expect(Array.from(blue)).toEqual(Array.from(rendered.bands[0] as Int16Array));
      let cloud = 0;
      let valid = 0;
      const problems: string[] = [];
      for (let i = 0; i < fmask.length; i++) {
        const m = fmask[i] as number;
        if ((m === FmaskFill) !== (blue[i] === HlsFill))
          problems.push(`pixel ${i}: fill in one of Fmask and band`);
        if (m === FmaskFill) continue;
        valid++;
        if (m & FmaskBit.Cloud && (blue[i] as number) <= 3000)
          problems.push(`pixel ${i}: cloud flagged but dark`);
        if (m & (FmaskBit.Cloud | FmaskBit.Shadow)) cloud++;
        if (prepared.classes[i] === 7 && !(m & FmaskBit.Water))
          problems.push(`pixel ${i}: water without the water bit`);
      }
      expect(problems.slice(0, 5)).toEqual([]);
      const recorded = manifest.tiles
        .find((t) => t.tileId === "19TBG")
        ?.granules.find((g) => g.id === formatGranuleId(id));
      expect(recorded?.cloudCover).toBeCloseTo(Math.round((cloud / valid) * 1000) / 10, 5);
    }
  });

  it("labels the ground the imagery shows: a tile pixel's class is the CDL class at that point", async () => {
    const { image } = await readImage("2022/CDL_2022_44.tif", config.storage.cdl);
    const cdl = (await image.readRasters({ interleave: true })) as unknown as Uint8Array;
    const [ox, oy] = image.getOrigin() as [number, number];
    expect((ox - NationalCdlGrid.originX) % 30).toBe(0);
    expect((NationalCdlGrid.originY - oy) % 30).toBe(0);
    expect(image.getGeoKeys()?.ProjectedCSTypeGeoKey).toBe(CdlEpsg);
    const width = image.getWidth();
    const lut = cdlToClassLut();
    const ground = createGround(profileForState("RI"), input.seed);
    const random = seededRandom(3);
    let compared = 0;
    for (const planned of plan.tiles) {
      const prepared = prepareTileGround(planned.window, ground);
      const toAlbers = transform(planned.window.epsg, CdlEpsg);
      for (let k = 0; k < 400; k++) {
        const px = Math.floor(random() * planned.window.width);
        const py = Math.floor(random() * planned.window.height);
        const [x, y] = toAlbers.forward([
          planned.window.origin[0] + (px + 0.5) * 30,
          planned.window.origin[1] - (py + 0.5) * 30,
        ]);
        const col = Math.floor((x - ox) / 30);
        const row = Math.floor((oy - y) / 30);
        if (col < 1 || row < 1 || col >= width - 1 || row >= image.getHeight() - 1) continue;
        // Only where the 3 x 3 labels agree: a pixel centre and a label cell centre can be 21 m apart.
        const classes = new Set<number>();
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++)
            classes.add(lut[cdl[(row + dy) * width + col + dx] as number] as number);
        if (classes.size !== 1 || classes.has(0)) continue;
        expect(
          prepared.classes[py * planned.window.width + px],
          `${planned.tile.tileId} pixel ${px},${py}`,
        ).toBe([...classes][0]);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(300);
  });

  it("writes the same bytes on one task thread as on two", async () => {
    const single = testConfig("synth-one-thread");
    const again = await writeWorld(planWorld({ ...input }), { s3, config: single, threads: 1 });
    const keys = await listWorld();
    expect(await listWorld(single)).toEqual(keys);
    let cogs = 0;
    for (const { location, key } of keys) {
      const [a, b] = await Promise.all([
        getBytes(s3, ref(config.storage[location], key)),
        getBytes(s3, ref(single.storage[location], key)),
      ]);
      // The manifest says when it was made and where the labels are; the rest of it must agree.
      if (key.startsWith("_synthetic/")) {
        const { createdAt: _a, cdl: cdlA, ...restA } = JSON.parse(Buffer.from(a).toString());
        const { createdAt: _b, cdl: cdlB, ...restB } = JSON.parse(Buffer.from(b).toString());
        expect({ ...restB, cdl: { ...cdlB, url: cdlA.url } }).toEqual({ ...restA, cdl: cdlA });
        continue;
      }
      expect(Buffer.compare(Buffer.from(a), Buffer.from(b)), key).toBe(0);
      if (key.endsWith(".tif")) cogs++;
    }
    expect(again.manifest.objects).toBe(manifest.objects);
    expect(cogs).toBeGreaterThan(100);
  });

  it("writes nothing new when run again", async () => {
    const before = await countObjects();
    const again = await writeWorld(planWorld({ ...input }), { s3, config });
    expect(again.skipped).toBe(manifest.objects);
    expect(await countObjects()).toBe(before);
  });
});

describe("crop-map synth input checks", () => {
  const bin = join(import.meta.dirname, "..", "..", "bin", "crop-map.js");
  const stack = testConfig("synth-cli");
  const env = {
    ...process.env,
    CROP_MAP_S3_ENDPOINT: stack.s3.endpoint,
    CROP_MAP_HLS_URL: `s3://${stack.storage.hls.bucket}/${stack.storage.hls.prefix}`,
    CROP_MAP_CDL_URL: `s3://${stack.storage.cdl.bucket}/${stack.storage.cdl.prefix}`,
  };
  it.each([
    [["--state", "XX", "--year", "2022"], "unknown state 'XX'"],
    [["--state", "RI", "--year", "2012"], "year=2012: HLS v2.0 starts in 2013"],
    [["--state", "RI", "--year", "2099"], "year=2099: is in the future"],
    [["--state", "RI", "--year", "2022", "--scale", "huge"], 'scale="huge"'],
    [["--state", "RI", "--year", "2022", "--season", "09-01,05-01"], "ends before it starts"],
    [
      ["--state", "RI", "--year", "2022", "--threads", "0"],
      "--threads '0': expected a whole number from 1 to 256",
    ],
  ])("exits 2 with one line and writes nothing for %j", async (args, message) => {
    const result = await promisify(execFile)("node", [bin, "synth", ...args], { env }).catch((e) => e);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain(message);
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: stack.storage.hls.bucket, Prefix: stack.storage.hls.prefix }),
    );
    expect(listed.KeyCount ?? 0).toBe(0);
  });
});

describe("GDAL reads the synthetic files", () => {
  const gdal = promisify(execFile)("gdalinfo", ["--version"]).then(
    () => true,
    () => false,
  );
  it("agrees on CRS, geotransform, nodata, type, scale and COG layout (where gdal-bin is installed)", async (context) => {
    if (!(await gdal)) return context.skip();
    const dir = await mkdtemp(join(tmpdir(), "gdal-"));
    const tile = manifest.tiles.find((t) => t.tileId === "19TCG") as WorldManifest["tiles"][number];
    const id = parseGranuleId(tile.granules[0]?.id as string);
    const file = join(dir, "band.tif");
    await writeFile(file, (await readImage(bandKey(id, "B04"))).bytes);
    const info = JSON.parse((await promisify(execFile)("gdalinfo", ["-json", "-mdd", "all", file])).stdout);
    expect(info.coordinateSystem.wkt).toContain('ID["EPSG",32619]');
    expect(info.geoTransform).toEqual([tile.origin[0], 30, 0, tile.origin[1], 0, -30]);
    expect(info.bands[0].type).toBe("Int16");
    expect(info.bands[0].noDataValue).toBe(-9999);
    expect(info.bands[0].scale).toBe(0.0001);
    expect(info.metadata.IMAGE_STRUCTURE).toMatchObject({ COMPRESSION: "DEFLATE", LAYOUT: "COG" });

    const labels = join(dir, "cdl.tif");
    await writeFile(labels, (await readImage("2022/CDL_2022_44.tif", config.storage.cdl)).bytes);
    const cdlInfo = JSON.parse((await promisify(execFile)("gdalinfo", ["-json", labels])).stdout);
    expect(cdlInfo.coordinateSystem.wkt).toContain('ID["EPSG",5070]');
    expect(cdlInfo.bands[0].overviews.length).toBeGreaterThan(0);
    expect(cdlInfo.bands[0].type).toBe("Byte");
  });
});
