import { afterAll, describe, expect, it } from "vitest";
import { labelWindow } from "../../lib/accuracy/label.window.ts";
import { gridBounds } from "../../lib/grid/lattice.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { putBytes, ref } from "../../lib/storage/s3.objects.ts";
import { boxNear, QuadCities, stateExtract, stateMask } from "../support/cdl.fixtures.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("labels");
const s3 = createS3Client(config);
afterAll(() => s3.destroy());

async function labelRaster(name: string, epsg: number, codes: number[]) {
  const bytes = await encodeCog({
    width: 4,
    height: 2,
    data: Uint8Array.from(codes),
    geo: { epsg, origin: [-2356095 + 30 * 1000, 3172605 - 30 * 1000], pixelSize: 30 },
    nodata: 0,
  });
  const object = ref(config.storage.cdl, name);
  await putBytes(s3, object, bytes, "image/tiff");
  return object;
}

const grid = (dx = 0) => ({
  epsg: 5070,
  origin: [-2356095 + 30 * 1000 + dx, 3172605 - 30 * 1000] as [number, number],
  pixelSize: 30,
  width: 4,
  height: 2,
});

describe("label windows", () => {
  it("maps CDL codes to classes, and counts codes outside the table as ignored", async () => {
    // 1 corn, 5 soybeans, 141 forest, 0 background, 81 'Clouds/No Data' (class 13 in the table),
    // 250 cranberries (13), 99 and 200 are not in the table.
    const object = await labelRaster("2022/cdl.tif", 5070, [1, 5, 141, 0, 99, 200, 81, 250]);
    const { classes, ignored } = await labelWindow(s3, [object], grid());
    expect(Array.from(classes)).toEqual([3, 4, 2, 0, 0, 0, 13, 13]);
    expect(ignored).toBe(2);
  });

  it("refuses a label raster in another CRS or off the map's grid instead of resampling", async () => {
    const utm = await labelRaster("2022/utm.tif", 32619, new Array(8).fill(1));
    await expect(labelWindow(s3, [utm], grid())).rejects.toThrow("is EPSG:32619, the map EPSG:5070");
    const cdl = await labelRaster("2022/cdl2.tif", 5070, new Array(8).fill(1));
    await expect(labelWindow(s3, [cdl], grid(15))).rejects.toThrow(
      /is not on the label raster.s grid .*off by 15 m in x, 0 m in y/,
    );
  });
});

describe("label windows over several state rasters", () => {
  // Two CropScape-like extracts that overlap across the Mississippi: Iowa's box reaches into
  // Illinois and Illinois' into Iowa, each 0 outside its own state.
  const iaBox = boxNear(QuadCities.lon, QuadCities.lat, 200, 150);
  const ilBox = {
    ...iaBox,
    origin: [iaBox.origin[0] + 60 * 30, iaBox.origin[1] - 20 * 30] as [number, number],
  };
  const window = {
    epsg: 5070,
    origin: iaBox.origin,
    pixelSize: 30,
    width: 260,
    height: 170,
  };
  const corn = () => 1;
  const soy = () => 5;

  async function putExtracts(year: number) {
    const ia = ref(config.storage.cdl, `${year}/CDL_${year}_19.tif`);
    const il = ref(config.storage.cdl, `${year}/CDL_${year}_17.tif`);
    await putBytes(s3, ia, await stateExtract("IA", iaBox, corn), "image/tiff");
    await putBytes(s3, il, await stateExtract("IL", ilBox, soy), "image/tiff");
    return { ia, il };
  }

  /** What each pixel of the window should be: corn inside Iowa's box and outline, soybeans in Illinois'. */
  function expected(): Uint8Array {
    const ia = stateMask("IA", window);
    const il = stateMask("IL", window);
    const out = new Uint8Array(window.width * window.height);
    const within = (box: typeof iaBox, col: number, row: number) => {
      const c = col - Math.round((box.origin[0] - window.origin[0]) / 30);
      const r = row - Math.round((window.origin[1] - box.origin[1]) / 30);
      return c >= 0 && r >= 0 && c < box.width && r < box.height;
    };
    for (let row = 0; row < window.height; row++) {
      for (let col = 0; col < window.width; col++) {
        const i = row * window.width + col;
        if (ia[i] && within(iaBox, col, row)) out[i] = 3;
        else if (il[i] && within(ilBox, col, row)) out[i] = 4;
      }
    }
    return out;
  }

  it("takes each pixel's label from whichever raster has one, in either order", async () => {
    const { ia, il } = await putExtracts(2021);
    const want = expected();
    const count = (a: Uint8Array, v: number) => a.reduce((n, x) => n + (x === v ? 1 : 0), 0);
    expect(count(want, 3)).toBeGreaterThan(5000);
    expect(count(want, 4)).toBeGreaterThan(5000);
    for (const rasters of [
      [il, ia],
      [ia, il],
    ]) {
      const { classes, ignored, rasters: used } = await labelWindow(s3, rasters, window);
      expect(Buffer.from(classes).equals(Buffer.from(want))).toBe(true);
      expect(ignored).toBe(0);
      expect(used.sort()).toEqual([il, ia].map((r) => `s3://${r.bucket}/${r.key}`).sort());
    }
  });

  it("reads only the rasters whose bounds meet the window", async () => {
    const { ia } = await putExtracts(2020);
    const iaOnly = { ...window, origin: [iaBox.origin[0], iaBox.origin[1]] as [number, number], width: 50 };
    // Bounds say it lies elsewhere, and the object does not exist: opening it would throw.
    const far = {
      bucket: ia.bucket,
      key: `${config.storage.cdl.prefix}2020/CDL_2020_06.tif`,
      bounds: gridBounds(boxNear(-120, 37, 100, 100)),
    };
    const { classes, rasters } = await labelWindow(s3, [far, { ...ia, bounds: gridBounds(iaBox) }], iaOnly);
    expect(rasters).toEqual([`s3://${ia.bucket}/${ia.key}`]);
    expect(classes.includes(3)).toBe(true);
    await expect(labelWindow(s3, [{ ...far, bounds: gridBounds(iaBox) }], iaOnly)).rejects.toThrow();
  });
});
