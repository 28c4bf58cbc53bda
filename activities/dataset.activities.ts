import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { heartbeat } from "@temporalio/activity";
import type { z } from "zod";
import { capChips, splitChips } from "../lib/chips/chip.split.ts";
import type { Config } from "../lib/config/config.schema.ts";
import {
  type ChipRecord,
  ChipTileManifestParser,
  type ChipTileOutcome,
  type DatasetCounts,
  type DatasetManifest,
  DatasetManifestParser,
  type WriteDatasetInput,
  WriteDatasetInputParser,
} from "../lib/contracts/chips.contract.ts";
import { formatS3Url, type S3Location } from "../lib/core/s3.url.ts";
import { deleteObject, getBytes, getJson, isNotFound, putBytes, ref } from "../lib/storage/s3.objects.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";
import { chipTileManifestKey } from "./chips.activities.ts";

/** Writes the object unless it already holds these bytes: a repeated dataset rewrites nothing. */
export async function putIfChanged(
  s3: S3Client,
  outputs: S3Location,
  key: string,
  body: string,
  type: string,
) {
  const object = ref(outputs, key);
  const existing = await getBytes(s3, object).catch((error) => {
    if (isNotFound(error)) return undefined;
    throw error;
  });
  if (!existing || Buffer.compare(Buffer.from(existing), Buffer.from(body)) !== 0)
    await putBytes(s3, object, body, type);
  return { key, sha256: createHash("sha256").update(body).digest("hex"), bytes: Buffer.byteLength(body) };
}

/** Why each tile gave nothing, for the refusal of a region that gives nothing at all. */
export function noneRefusal(input: Record<string, unknown>, what: string, none: string[]) {
  const region = String(input.regionName ?? "the region");
  return nonRetryable(
    "BadInput",
    `${region} ${String(input.year)} gives no ${what}: ${none.slice(0, 6).join("; ")}${none.length > 6 ? `; and ${none.length - 6} more tiles` : ""}`,
  );
}

/**
 * The dataset tiles' manifests as `parser` reads them (a failed tile has none, its reason in
 * `none`, the reasons a region that gives nothing is refused with); one that does not parse is bad
 * data.
 */
export async function readTileManifests<T>(
  s3: S3Client,
  outputs: S3Location,
  outputPrefix: string,
  outcomes: ChipTileOutcome[],
  parser: z.ZodType<T>,
  what: string,
): Promise<{ read: { outcome: ChipTileOutcome; manifest?: T }[]; none: string[] }> {
  const read: { outcome: ChipTileOutcome; manifest?: T }[] = [];
  const none: string[] = [];
  for (const outcome of outcomes) {
    if (outcome.status === "failed") {
      read.push({ outcome });
      none.push(`${outcome.tileId} failed: ${outcome.reason ?? "no reason given"}`);
      continue;
    }
    const key = chipTileManifestKey(outputPrefix, outcome.tileId);
    const parsed = parser.safeParse(await getJson(s3, ref(outputs, key)));
    if (!parsed.success)
      throw nonRetryable("BadData", `${formatS3Url(outputs, key)} is not a ${what} tile manifest`);
    read.push({ outcome, manifest: parsed.data });
    heartbeat({ read: outcome.tileId });
  }
  return { read, none };
}

export function createDatasetActivities(s3: S3Client, config: Config) {
  const { outputs } = config.storage;

  return {
    /**
     * The dataset from its finished tiles' manifests: the chips (capped by `maxChips`, a seeded
     * choice; the files of chips left out removed), the split files `training_data.txt` and
     * `validation_data.txt`, then `dataset.json` with every file's SHA-256. Deterministic, so a
     * repeated dataset finds its files as they are and writes nothing.
     */
    async writeDataset(raw: WriteDatasetInput): Promise<DatasetCounts> {
      const input = parseInput(WriteDatasetInputParser, raw, "writeDataset");
      const tiles: DatasetManifest["tiles"] = [];
      const all: ChipRecord[] = [];
      const { read, none } = await readTileManifests(
        s3,
        outputs,
        input.outputPrefix,
        input.tiles,
        ChipTileManifestParser,
        "chip",
      );
      for (const { outcome, manifest } of read) {
        if (!manifest) {
          tiles.push({ ...outcome, chips: 0, granules: [] });
          continue;
        }
        const { dropped, candidates, reason } = manifest;
        if (manifest.chips.length === 0)
          none.push(
            reason
              ? `${outcome.tileId}: ${reason}`
              : `${outcome.tileId}: ${candidates} chip cells, ${dropped.qa} over the QA limit, ${dropped.marker} with -1000, ${dropped.unlabelled} unlabelled`,
          );
        all.push(...manifest.chips);
        tiles.push({
          ...outcome,
          chips: manifest.chips.length,
          granules: manifest.scenes.map((s) => s.id),
        });
      }
      if (all.length === 0) throw noneRefusal(input.input, "training chip", none);
      const chips = capChips(all, input.maxChips, input.split.seed);
      const key = `${input.outputPrefix}dataset.json`;
      // A capped dataset removed the other chips' files: a later, larger cap cannot have them back.
      const previous = DatasetManifestParser.safeParse(await getJson(s3, ref(outputs, key)));
      if (previous.success && previous.data.capped > 0) {
        const had = new Set(previous.data.files.map((f) => f.key));
        const gone = chips.filter((c) => !had.has(c.merged.key)).map((c) => c.id);
        if (gone.length)
          throw nonRetryable(
            "BadInput",
            `dataset ${formatS3Url(outputs, input.outputPrefix)} was capped to ${previous.data.chips} chips, whose others were removed (${gone.slice(0, 5).join(", ")}${gone.length > 5 ? ", ..." : ""}); make a larger one under a new name`,
          );
      }
      const kept = new Set(chips.map((c) => c.id));
      for (const chip of all.filter((c) => !kept.has(c.id)))
        for (const file of [chip.merged, chip.mask]) await deleteObject(s3, ref(outputs, file.key));
      const { training, validation } = splitChips(chips, input.split);
      const lines = (ids: string[]) => (ids.length ? `${ids.join("\n")}\n` : "");
      const files = [
        ...chips.flatMap((c) => [c.merged, c.mask]),
        await putIfChanged(
          s3,
          outputs,
          `${input.outputPrefix}training_data.txt`,
          lines(training),
          "text/plain",
        ),
        await putIfChanged(
          s3,
          outputs,
          `${input.outputPrefix}validation_data.txt`,
          lines(validation),
          "text/plain",
        ),
      ];
      const classHistogram = Array.from({ length: 14 }, (_, v) =>
        chips.reduce((n, chip) => n + (chip.histogram[v] as number), 0),
      );
      const manifest: DatasetManifest = {
        name: String(input.input.name),
        year: Number(input.input.year),
        input: input.input,
        split: input.split,
        ...(input.maxChips !== undefined ? { maxChips: input.maxChips } : {}),
        chips: chips.length,
        training: training.length,
        validation: validation.length,
        capped: all.length - chips.length,
        classHistogram,
        tiles,
        files,
      };
      await putIfChanged(s3, outputs, key, `${JSON.stringify(manifest, null, 2)}\n`, "application/json");
      // Counts only: the manifest's file list grows with the chips, past what a payload may hold.
      return {
        chips: chips.length,
        training: training.length,
        validation: validation.length,
        datasetJson: formatS3Url(outputs, key),
      };
    },
  };
}
