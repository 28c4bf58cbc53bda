import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLabelActivities } from "../../activities/labels.activities.ts";
import { gridBounds } from "../../lib/grid/lattice.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { putBytes, ref } from "../../lib/storage/s3.objects.ts";
import { boxNear, gdal, gdalAvailable, QuadCities, stateExtract } from "../support/cdl.fixtures.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("label-grid");
const s3 = createS3Client(config);
const labels = createLabelActivities(s3, config);
// Plain calls: labelGrid uses nothing of the activity context.
const labelGrid = (year: number) => labels.labelGrid({ year });
afterAll(() => s3.destroy());

const iaBox = boxNear(QuadCities.lon, QuadCities.lat, 60, 40);
const corn = () => 1;

async function put(year: number, name: string, bytes: Uint8Array) {
  await putBytes(s3, ref(config.storage.cdl, `${year}/${name}`), bytes, "image/tiff");
  return `s3://${config.storage.cdl.bucket}/${config.storage.cdl.prefix}${year}/${name}`;
}

/** A label raster rewritten by GDAL (`gdal_translate` with extra arguments), as real files come. */
async function rewrittenByGdal(bytes: Uint8Array, args: string[]): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "label-grid-"));
  try {
    await writeFile(join(dir, "in.tif"), bytes);
    await gdal("gdal_translate", [
      "-q",
      "-of",
      "GTiff",
      "-co",
      "TILED=NO",
      ...args,
      join(dir, "in.tif"),
      join(dir, "out.tif"),
    ]);
    return await readFile(join(dir, "out.tif"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("labelGrid", () => {
  it("lists every label raster of the year with its bounds, on one grid", async () => {
    const ilBox = { ...iaBox, origin: [iaBox.origin[0] + 90, iaBox.origin[1] - 300] as [number, number] };
    const il = await put(2019, "CDL_2019_17.tif", await stateExtract("IL", ilBox, corn));
    const ia = await put(2019, "CDL_2019_19.tif", await stateExtract("IA", iaBox, corn));
    const grid = await labelGrid(2019);
    expect(grid.rasters.map((r) => `s3://${r.bucket}/${r.key}`)).toEqual([il, ia]);
    expect(grid.rasters.map((r) => r.bounds)).toEqual([gridBounds(ilBox), gridBounds(iaBox)]);
    expect(grid).toMatchObject({ epsg: 5070, origin: ilBox.origin, pixelSize: 30 });
  });

  it("takes a stripped GeoTIFF with user-defined Conus Albers as EPSG:5070", async (context) => {
    if (!(await gdalAvailable)) return context.skip();
    const aea =
      "+proj=aea +lat_0=23 +lon_0=-96 +lat_1=29.5 +lat_2=45.5 +x_0=0 +y_0=0 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs";
    await put(
      2018,
      "CDL_2018_19.tif",
      await rewrittenByGdal(await stateExtract("IA", iaBox, corn), ["-a_srs", aea]),
    );
    expect(await labelGrid(2018)).toMatchObject({ epsg: 5070, origin: iaBox.origin });
  });

  it("refuses a year whose rasters are not on one lattice, naming the rasters and the offset", async () => {
    const ia = await put(2017, "CDL_2017_19.tif", await stateExtract("IA", iaBox, corn));
    const shifted = { ...iaBox, origin: [iaBox.origin[0] + 15, iaBox.origin[1]] as [number, number] };
    const il = await put(2017, "CDL_2017_17.tif", await stateExtract("IL", shifted, corn));
    const failure = labelGrid(2017);
    await expect(failure).rejects.toThrow(`label raster ${ia}`);
    await expect(failure).rejects.toThrow(`off the grid of ${il}`);
    await expect(failure).rejects.toThrow("by 15 m in x, 0 m in y");
    await expect(failure).rejects.toMatchObject({ nonRetryable: true });
  });

  it("refuses a label raster in another projection, naming it", async (context) => {
    if (!(await gdalAvailable)) return context.skip();
    const bytes = await stateExtract("IA", iaBox, corn);
    await put(2016, "CDL_2016_19.tif", bytes);
    const lcc =
      "+proj=lcc +lat_0=23 +lon_0=-96 +lat_1=33 +lat_2=45 +x_0=0 +y_0=0 +datum=NAD83 +units=m +no_defs";
    const other = await put(2016, "CDL_2016_17.tif", await rewrittenByGdal(bytes, ["-a_srs", lcc]));
    const failure = labelGrid(2016);
    await expect(failure).rejects.toThrow(`label raster ${other}`);
    await expect(failure).rejects.toThrow("LambertConfConic_2SP");
    await expect(failure).rejects.toMatchObject({ nonRetryable: true });

    await put(2015, "CDL_2015_19.tif", await rewrittenByGdal(bytes, ["-a_srs", "EPSG:32615"]));
    await expect(labelGrid(2015)).rejects.toThrow(
      /CDL_2015_19\.tif is EPSG:32615; CDL rasters are EPSG:5070/,
    );
  });
});
