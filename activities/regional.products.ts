import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { ClassPalette } from "../lib/cdl/classes.ts";
import type { MosaicPart, ReportPlan } from "../lib/contracts/report.contract.ts";
import type { S3Location } from "../lib/core/s3.url.ts";
import { CogContentType, encodeCog } from "../lib/raster/cog.writer.ts";
import { vrtXml } from "../lib/report/mosaic.vrt.ts";
import type { Sample } from "../lib/report/regional.sample.ts";
import { putBytes, ref } from "../lib/storage/s3.objects.ts";

type Digest = { sha256: string; bytes: number };
const digest = (bytes: Buffer): Digest => ({
  sha256: createHash("sha256").update(bytes).digest("hex"),
  bytes: bytes.length,
});

/**
 * The whole region of a run mosaicked by state: GDAL VRTs over the state COGs (classes with the
 * colour table, confidence; hrefs relative to the VRT), and coarse COGs of the region made from the
 * parts' samples. Returns the overview COGs' checksums for the STAC catalogue.
 */
export async function writeRegionalProducts(
  s3: S3Client,
  input: {
    outputs: S3Location;
    /** The run's folder: the VRTs sit in it, the parts under it. */
    prefix: string;
    plan: ReportPlan;
    parts: MosaicPart[];
    sample: Sample;
    keys: { classesVrt: string; confidenceVrt: string; classes: string; confidence: string };
  },
): Promise<{ classes: Digest; confidence: Digest }> {
  const { outputs, plan, sample, keys } = input;
  const sources = (file: string) =>
    input.parts.map((p) => ({ href: `${p.prefix.slice(input.prefix.length)}${file}`, grid: p.grid }));
  const classesVrt = vrtXml({
    grid: plan.grid,
    sources: sources("map.tif"),
    nodata: 0,
    description: "Crop classes",
    palette: ClassPalette,
  });
  const confidenceVrt = vrtXml({
    grid: plan.grid,
    sources: sources("confidence.tif"),
    nodata: 255,
    description: "Confidence, percent",
  });
  await putBytes(s3, ref(outputs, keys.classesVrt), classesVrt, "application/xml");
  await putBytes(s3, ref(outputs, keys.confidenceVrt), confidenceVrt, "application/xml");
  const geo = {
    epsg: plan.grid.epsg,
    origin: plan.grid.origin,
    pixelSize: plan.grid.pixelSize * plan.sampleStep,
  };
  const size = { width: sample.width, height: sample.height, geo };
  const [classes, confidence] = await Promise.all([
    encodeCog({ ...size, data: sample.classes, nodata: 0 }, { overviews: "nearest", colorMap: ClassPalette }),
    encodeCog({ ...size, data: sample.confidence, nodata: 255 }, { overviews: "average" }),
  ]);
  await putBytes(s3, ref(outputs, keys.classes), classes, CogContentType);
  await putBytes(s3, ref(outputs, keys.confidence), confidence, CogContentType);
  return { classes: digest(classes), confidence: digest(confidence) };
}
