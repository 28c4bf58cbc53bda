import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { datasetPrefix } from "../contracts/chips.contract.ts";
import {
  type SeriesDatasetManifest,
  SeriesDatasetManifestParser,
  SeriesSplits,
} from "../contracts/series.dataset.contract.ts";
import type { S3Location } from "../core/s3.url.ts";
import { getBytes, ref } from "../storage/s3.objects.ts";
import { DatasetError, readDatasetJson } from "./training.arrays.ts";

/** A series dataset as the trainer reads it, and what it was made from. */
export interface SeriesFiles {
  manifest: SeriesDatasetManifest;
  /** sha256 of dataset.json: recorded in checkpoints and in the trained model's manifest. */
  datasetSha256: string;
}

/**
 * A `crop-map chips --kind series` dataset from S3 into `dir` as the original code's folders
 * (`TRAIN/`, `VALIDATE/`, `TEST/`, `UNLABELLED/`, one `.npz` per series), every file checked
 * against the SHA-256 dataset.json records before it is written.
 */
export async function writeSeriesFiles(
  s3: S3Client,
  outputs: S3Location,
  dataset: string,
  dir: string,
): Promise<SeriesFiles> {
  const prefix = datasetPrefix(dataset);
  const { bytes, sha256: datasetSha256 } = await readDatasetJson(s3, outputs, dataset);
  const json = JSON.parse(Buffer.from(bytes).toString());
  if (json?.kind !== "series")
    throw new DatasetError(
      `dataset '${dataset}' is a chips dataset: sits-former trains on one made with --kind series`,
    );
  const parsed = SeriesDatasetManifestParser.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DatasetError(`${prefix}dataset.json: ${issue?.path.join(".")}: ${issue?.message}`);
  }
  for (const split of SeriesSplits) await mkdir(join(dir, split), { recursive: true });
  for (const file of parsed.data.files) {
    const relative = file.key.slice(prefix.length);
    const [split, name, ...rest] = relative.split("/");
    if (!file.key.startsWith(prefix) || !SeriesSplits.includes(split as never) || !name || rest.length)
      throw new DatasetError(`${prefix}dataset.json lists ${file.key}, outside the dataset's split folders`);
    const body = await getBytes(s3, ref(outputs, file.key));
    if (createHash("sha256").update(body).digest("hex") !== file.sha256)
      throw new DatasetError(`${file.key}: its sha256 is not the one dataset.json records`);
    await writeFile(join(dir, split as string, name), body);
  }
  return { manifest: parsed.data, datasetSha256 };
}
