import { createHash } from "node:crypto";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { fromArrayBuffer } from "geotiff";
import { z } from "zod";
import { type DatasetManifest, DatasetManifestParser, datasetPrefix } from "../contracts/chips.contract.ts";
import type { S3Location } from "../core/s3.url.ts";
import { getBytes, ref } from "../storage/s3.objects.ts";
import { NpyWriter } from "./npy.writer.ts";

/** A dataset that cannot be trained on: a file missing, changed since its manifest, or malformed. */
export class DatasetError extends Error {}

/** The dataset named is not there: the name is wrong, not the data. */
export class DatasetMissing extends DatasetError {}

const ChipIdParser = z.string().regex(/^chip_\d+_\d+$/, "expected chip_<col>_<row>");

/** The dataset as the trainer reads it, and what it was made from. */
export interface TrainingArrays {
  manifest: DatasetManifest;
  /** sha256 of dataset.json: recorded in checkpoints and in the trained model's manifest. */
  datasetSha256: string;
  training: number;
  validation: number;
  /** The chips' side in pixels. */
  size: number;
}

/** dataset.json's bytes and their sha256: what a trained model and its checkpoints record of their dataset. */
export async function readDatasetJson(
  s3: S3Client,
  outputs: S3Location,
  dataset: string,
): Promise<{ bytes: Uint8Array; sha256: string }> {
  const key = `${datasetPrefix(dataset)}dataset.json`;
  const bytes = await getBytes(s3, ref(outputs, key)).catch(() => {
    throw new DatasetMissing(`dataset '${dataset}' not found (no ${key} under the outputs)`);
  });
  return { bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
}

/**
 * A `crop-map chips` dataset from S3 as the trainer's arrays in `dir`: `train.x.npy` /
 * `val.x.npy` (int16 [N, 18, size, size], the `_merged.tif` bands in order) and `train.y.npy` /
 * `val.y.npy` (uint8 [N, size, size], the masks). Every file is checked against the sha256 that
 * dataset.json records before it is used, and written to disk a chip at a time.
 */
export async function writeTrainingArrays(
  s3: S3Client,
  outputs: S3Location,
  dataset: string,
  dir: string,
  progress: (done: number, total: number) => void = () => {},
): Promise<TrainingArrays> {
  const prefix = datasetPrefix(dataset);
  const { bytes, sha256: datasetSha256 } = await readDatasetJson(s3, outputs, dataset);
  const parsed = DatasetManifestParser.safeParse(JSON.parse(Buffer.from(bytes).toString()));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DatasetError(`${prefix}dataset.json: ${issue?.path.join(".")}: ${issue?.message}`);
  }
  const manifest = parsed.data;
  const digests = new Map(manifest.files.map((f) => [f.key, f.sha256]));
  const checked = async (key: string): Promise<Uint8Array> => {
    const expected = digests.get(key);
    if (!expected) throw new DatasetError(`${key} is not listed in ${prefix}dataset.json`);
    const body = await getBytes(s3, ref(outputs, key));
    if (createHash("sha256").update(body).digest("hex") !== expected)
      throw new DatasetError(`${key}: its sha256 is not the one dataset.json records`);
    return body;
  };
  const ids = async (file: string, count: number): Promise<string[]> => {
    const text = Buffer.from(await checked(`${prefix}${file}`)).toString();
    const lines = text.split("\n").filter((l) => l.trim());
    if (lines.length !== count)
      throw new DatasetError(`${prefix}${file}: ${lines.length} chips, dataset.json says ${count}`);
    return lines.map((line, i) => {
      const id = ChipIdParser.safeParse(line.trim());
      if (!id.success) throw new DatasetError(`${prefix}${file} line ${i + 1}: '${line}' is not a chip id`);
      return id.data;
    });
  };
  const training = await ids("training_data.txt", manifest.training);
  const validation = await ids("validation_data.txt", manifest.validation);
  if (training.length === 0 || validation.length === 0)
    throw new DatasetError(
      `dataset '${dataset}' has ${training.length} training and ${validation.length} validation chips; training needs both`,
    );

  const decode = async (key: string, bands: number, type: "int16" | "uint8") => {
    const tiff = await fromArrayBuffer((await checked(key)).slice().buffer as ArrayBuffer);
    const image = await tiff.getImage();
    if (image.getSamplesPerPixel() !== bands || image.getWidth() !== image.getHeight())
      throw new DatasetError(`${key}: expected ${bands} band(s) of a square chip`);
    const planes = (await image.readRasters()) as unknown as (Int16Array | Uint8Array)[];
    const Type = type === "int16" ? Int16Array : Uint8Array;
    if (!planes.every((p) => p instanceof Type)) throw new DatasetError(`${key}: expected ${type} samples`);
    return { size: image.getWidth(), planes };
  };
  let size = 0;
  let done = 0;
  const total = training.length + validation.length;
  for (const [split, chips] of [
    ["train", training],
    ["val", validation],
  ] as const) {
    let x: NpyWriter | undefined;
    let y: NpyWriter | undefined;
    for (const id of chips) {
      const merged = await decode(`${prefix}chips/${id}_merged.tif`, 18, "int16");
      const mask = await decode(`${prefix}chips/${id}.mask.tif`, 1, "uint8");
      size ||= merged.size;
      if (merged.size !== size || mask.size !== size)
        throw new DatasetError(`chip ${id}: ${merged.size} px, the dataset's chips are ${size} px`);
      x ??= await NpyWriter.create(join(dir, `${split}.x.npy`), "int16", [chips.length, 18, size, size]);
      y ??= await NpyWriter.create(join(dir, `${split}.y.npy`), "uint8", [chips.length, size, size]);
      for (const plane of merged.planes) await x.append(plane);
      await y.append(mask.planes[0] as Uint8Array);
      progress(++done, total);
    }
    await x?.close();
    await y?.close();
  }
  return { manifest, datasetSha256, training: training.length, validation: validation.length, size };
}
