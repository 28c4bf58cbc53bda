import type { S3Client } from "@aws-sdk/client-s3";
import { cdlToClassLut } from "../cdl/classes.ts";
import { openCog } from "../raster/cog.reader.ts";
import type { GridGeo } from "../raster/raster.types.ts";
import type { ObjectRef } from "../storage/s3.objects.ts";

/**
 * The CDL classes under a map's grid (same CRS and pixel size, origin on the label grid), read
 * with a window of the label raster; 0 where the raster has no label or does not reach. Codes
 * that are not in the class table also become 0, and are counted in `ignored`. A grid off the
 * label raster's grid is refused rather than resampled: maps must line up pixel for pixel.
 */
export async function labelWindow(
  s3: S3Client,
  raster: ObjectRef,
  grid: GridGeo & { width: number; height: number },
): Promise<{ classes: Uint8Array; ignored: number }> {
  const image = await openCog(s3, raster);
  const epsg = image.getGeoKeys()?.ProjectedCSTypeGeoKey;
  if (epsg !== grid.epsg)
    throw new Error(
      `label raster s3://${raster.bucket}/${raster.key} is EPSG:${epsg}, the map EPSG:${grid.epsg}`,
    );
  const [ox, oy] = image.getOrigin() as [number, number];
  const p = grid.pixelSize;
  const col0 = Math.round((grid.origin[0] - ox) / p);
  const row0 = Math.round((oy - grid.origin[1]) / p);
  if (
    Math.abs(col0 * p - (grid.origin[0] - ox)) > 1e-6 ||
    Math.abs(row0 * p - (oy - grid.origin[1])) > 1e-6
  ) {
    throw new Error(
      `grid origin ${grid.origin.join(",")} is not on the label raster's grid (origin ${ox},${oy})`,
    );
  }
  const out = new Uint8Array(grid.width * grid.height);
  let ignored = 0;
  const c0 = Math.max(0, col0);
  const r0 = Math.max(0, row0);
  const c1 = Math.min(image.getWidth(), col0 + grid.width);
  const r1 = Math.min(image.getHeight(), row0 + grid.height);
  if (c1 <= c0 || r1 <= r0) return { classes: out, ignored };
  const codes = (await image.readRasters({
    window: [c0, r0, c1, r1],
    samples: [0],
    interleave: true,
  })) as unknown as Uint8Array;
  const lut = cdlToClassLut();
  const w = c1 - c0;
  for (let r = r0; r < r1; r++) {
    for (let c = c0; c < c1; c++) {
      const code = codes[(r - r0) * w + (c - c0)] as number;
      const classId = lut[code] as number;
      if (code !== 0 && classId === 0) ignored++;
      out[(r - row0) * grid.width + (c - col0)] = classId;
    }
  }
  return { classes: out, ignored };
}

export async function labelClassesFor(
  s3: S3Client,
  raster: ObjectRef,
  grid: GridGeo & { width: number; height: number },
): Promise<Uint8Array> {
  return (await labelWindow(s3, raster, grid)).classes;
}
