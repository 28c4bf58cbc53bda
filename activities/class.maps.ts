import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { ClassPalette } from "../lib/cdl/classes.ts";
import type { TargetGrid } from "../lib/contracts/grid.contract.ts";
import type { FileDigest, MapFiles } from "../lib/contracts/predict.contract.ts";
import type { S3Location } from "../lib/core/s3.url.ts";
import type { ModelManifest } from "../lib/model/model.manifest.ts";
import { CogContentType, encodeCog } from "../lib/raster/cog.writer.ts";
import { putBytes, ref } from "../lib/storage/s3.objects.ts";

export interface ClassMaps {
  classes: string;
  confidence: string;
  /** Pixels with a class, and how many of each class id. */
  mapped: number;
  perClass: Record<string, number>;
  files: MapFiles;
}

const bufferDigest = (bytes: Buffer): FileDigest => ({
  sha256: createHash("sha256").update(bytes).digest("hex"),
  bytes: bytes.length,
});

/**
 * Writes a tile's maps, whatever model family made them: `classes.tif` (uint8 class ids, 0 no data,
 * the classes' colour table, nearest overviews) and `confidence.tif` (percent, 255 no data).
 */
export async function writeClassMaps(
  s3: S3Client,
  outputs: S3Location,
  outputPrefix: string,
  model: Pick<ModelManifest, "name">,
  grid: TargetGrid,
  classes: Uint8Array,
  confidence: Uint8Array,
): Promise<ClassMaps> {
  const { width, height } = grid;
  const geo = { epsg: grid.epsg, origin: grid.origin, pixelSize: grid.pixelSize };
  const [classesCog, confidenceCog] = await Promise.all([
    encodeCog(
      { width, height, data: classes, geo, nodata: 0 },
      { overviews: "nearest", colorMap: ClassPalette, metadata: { model: model.name } },
    ),
    encodeCog(
      { width, height, data: confidence, geo, nodata: 255 },
      { overviews: "average", metadata: { units: "percent", model: model.name } },
    ),
  ]);
  const classesRef = ref(outputs, `${outputPrefix}classes.tif`);
  const confidenceRef = ref(outputs, `${outputPrefix}confidence.tif`);
  await Promise.all([
    putBytes(s3, classesRef, classesCog, CogContentType),
    putBytes(s3, confidenceRef, confidenceCog, CogContentType),
  ]);
  const perClass: Record<string, number> = {};
  let mapped = 0;
  for (const v of classes) {
    if (v === 0) continue;
    mapped++;
    perClass[v] = (perClass[v] ?? 0) + 1;
  }
  return {
    classes: `s3://${classesRef.bucket}/${classesRef.key}`,
    confidence: `s3://${confidenceRef.bucket}/${confidenceRef.key}`,
    mapped,
    perClass,
    files: { classes: bufferDigest(classesCog), confidence: bufferDigest(confidenceCog) },
  };
}
