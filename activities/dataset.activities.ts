import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { heartbeat } from "@temporalio/activity";
import { capChips, splitChips } from "../lib/chips/chip.split.ts";
import type { Config } from "../lib/config/config.schema.ts";
import {
  type ChipRecord,
  ChipTileManifestParser,
  type DatasetCounts,
  type DatasetManifest,
  DatasetManifestParser,
  type WriteDatasetInput,
  WriteDatasetInputParser,
} from "../lib/contracts/chips.contract.ts";
import { formatS3Url } from "../lib/core/s3.url.ts";
import { deleteObject, getBytes, getJson, isNotFound, putBytes, ref } from "../lib/storage/s3.objects.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";
import { chipTileManifestKey } from "./chips.activities.ts";

export function createDatasetActivities(s3: S3Client, config: Config) {
  const { outputs } = config.storage;

  /** Writes the object unless it already holds these bytes: a repeated dataset rewrites nothing. */
  async function putIfChanged(key: string, body: string, type: string) {
    const object = ref(outputs, key);
    const existing = await getBytes(s3, object).catch((error) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (!existing || Buffer.compare(Buffer.from(existing), Buffer.from(body)) !== 0)
      await putBytes(s3, object, body, type);
    return { key, sha256: createHash("sha256").update(body).digest("hex"), bytes: Buffer.byteLength(body) };
  }

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
      // Why each tile gave no chip, for the refusal of a region that gives none at all.
      const none: string[] = [];
      for (const outcome of input.tiles) {
        if (outcome.status === "failed") {
          tiles.push({ ...outcome, chips: 0, granules: [] });
          none.push(`${outcome.tileId} failed: ${outcome.reason ?? "no reason given"}`);
          continue;
        }
        const key = chipTileManifestKey(input.outputPrefix, outcome.tileId);
        const parsed = ChipTileManifestParser.safeParse(await getJson(s3, ref(outputs, key)));
        if (!parsed.success)
          throw nonRetryable("BadData", `${formatS3Url(outputs, key)} is not a chip tile manifest`);
        const { dropped, candidates, reason } = parsed.data;
        if (parsed.data.chips.length === 0)
          none.push(
            reason
              ? `${outcome.tileId}: ${reason}`
              : `${outcome.tileId}: ${candidates} chip cells, ${dropped.qa} over the QA limit, ${dropped.marker} with -1000, ${dropped.unlabelled} unlabelled`,
          );
        all.push(...parsed.data.chips);
        heartbeat({ read: outcome.tileId });
        tiles.push({
          ...outcome,
          chips: parsed.data.chips.length,
          granules: parsed.data.scenes.map((s) => s.id),
        });
      }
      if (all.length === 0) {
        const region = String(input.input.regionName ?? "the region");
        throw nonRetryable(
          "BadInput",
          `${region} ${String(input.input.year)} gives no training chip: ${none.slice(0, 6).join("; ")}${none.length > 6 ? `; and ${none.length - 6} more tiles` : ""}`,
        );
      }
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
        await putIfChanged(`${input.outputPrefix}training_data.txt`, lines(training), "text/plain"),
        await putIfChanged(`${input.outputPrefix}validation_data.txt`, lines(validation), "text/plain"),
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
      await putIfChanged(key, `${JSON.stringify(manifest, null, 2)}\n`, "application/json");
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
