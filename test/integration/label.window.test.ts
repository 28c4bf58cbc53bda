import { afterAll, describe, expect, it } from "vitest";
import { labelWindow } from "../../lib/accuracy/label.window.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { putBytes, ref } from "../../lib/storage/s3.objects.ts";
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
    const { classes, ignored } = await labelWindow(s3, object, grid());
    expect(Array.from(classes)).toEqual([3, 4, 2, 0, 0, 0, 13, 13]);
    expect(ignored).toBe(2);
  });

  it("refuses a label raster in another CRS or off the map's grid instead of resampling", async () => {
    const utm = await labelRaster("2022/utm.tif", 32619, new Array(8).fill(1));
    await expect(labelWindow(s3, utm, grid())).rejects.toThrow("is EPSG:32619, the map EPSG:5070");
    const cdl = await labelRaster("2022/cdl2.tif", 5070, new Array(8).fill(1));
    await expect(labelWindow(s3, cdl, grid(15))).rejects.toThrow("is not on the label raster's grid");
  });
});
