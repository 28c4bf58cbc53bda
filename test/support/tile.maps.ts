import type { S3Client } from "@aws-sdk/client-s3";
import { ClassPalette } from "../../lib/cdl/classes.ts";
import type { MosaicGrid } from "../../lib/contracts/grid.contract.ts";
import type { S3Location } from "../../lib/core/s3.url.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import { putBytes, putJson, ref } from "../../lib/storage/s3.objects.ts";

/**
 * A finished tile as the report reads it, without imagery: its classes and confidence COGs (a
 * pixel's class and confidence from `pixel`, class 0 unmapped) and a manifest under
 * `<prefix>tiles/<tileId>/`.
 */
export async function putTileMap(
  s3: S3Client,
  outputs: S3Location,
  prefix: string,
  tile: { tileId: string; grid: MosaicGrid },
  pixel: (col: number, row: number) => { classId: number; confidence: number },
): Promise<void> {
  const { width, height } = tile.grid;
  const classes = new Uint8Array(width * height);
  const confidence = new Uint8Array(width * height).fill(255);
  for (let row = 0; row < height; row++)
    for (let col = 0; col < width; col++) {
      const v = pixel(col, row);
      if (v.classId === 0) continue;
      classes[row * width + col] = v.classId;
      confidence[row * width + col] = v.confidence;
    }
  const geo = { epsg: tile.grid.epsg, origin: tile.grid.origin, pixelSize: tile.grid.pixelSize };
  const at = (name: string) => ref(outputs, `${prefix}tiles/${tile.tileId}/${name}`);
  await putBytes(
    s3,
    at("classes.tif"),
    await encodeCog({ width, height, geo, data: classes, nodata: 0 }, { colorMap: ClassPalette }),
    "image/tiff",
  );
  await putBytes(
    s3,
    at("confidence.tif"),
    await encodeCog({ width, height, geo, data: confidence, nodata: 255 }),
    "image/tiff",
  );
  await putJson(s3, at("manifest.json"), {
    tileId: tile.tileId,
    grid: tile.grid,
    model: { name: "crop-tiny", sha256: "ab".repeat(32) },
    pixels: { total: width * height, mapped: width * height },
    granules: [],
    timings: { selectSeconds: 0, stageSeconds: 0, predictSeconds: 0 },
  });
}
