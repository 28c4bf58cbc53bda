import type { S3Client } from "@aws-sdk/client-s3";
import type { Config } from "../lib/config/config.schema.ts";
import {
  type DatasetCounts,
  type WriteSeriesDatasetInput,
  WriteSeriesDatasetInputParser,
} from "../lib/contracts/chips.contract.ts";
import {
  type SeriesDatasetManifest,
  type SeriesSample,
  SeriesSplits,
  SeriesTileManifestParser,
} from "../lib/contracts/series.dataset.contract.ts";
import { formatS3Url } from "../lib/core/s3.url.ts";
import { deleteObject, ref } from "../lib/storage/s3.objects.ts";
import { parseInput } from "./activity.failures.ts";
import { noneRefusal, putIfChanged, readTileManifests } from "./dataset.activities.ts";

/** The six staged bands of every series, in the order of `ts`'s band axis (S30 names). */
const SeriesBands = ["B02", "B03", "B04", "B8A", "B11", "B12"];

/** Which cap a sample counts against: its split and class, or the unlabelled draw. */
const capGroup = (s: SeriesSample) => (s.split === "UNLABELLED" ? s.split : `${s.split}/${s.label}`);

export function createSeriesDatasetActivities(s3: S3Client, config: Config) {
  const { outputs } = config.storage;
  return {
    /**
     * The series dataset from its finished tiles' manifests: per split and class (and for the
     * unlabelled draw) the capped number of least-keyed series across the tiles, the files of the
     * rest removed, then `dataset.json` with every file's SHA-256. Deterministic, so a repeated
     * dataset finds its files as they are and writes nothing.
     */
    async writeSeriesDataset(raw: WriteSeriesDatasetInput): Promise<DatasetCounts> {
      const input = parseInput(WriteSeriesDatasetInputParser, raw, "writeSeriesDataset");
      const { sampling } = input;
      const tiles: SeriesDatasetManifest["tiles"] = [];
      const all: SeriesSample[] = [];
      const { read, none } = await readTileManifests(
        s3,
        outputs,
        input.outputPrefix,
        input.tiles,
        SeriesTileManifestParser,
        "series",
      );
      for (const { outcome, manifest: m } of read) {
        if (!m) {
          tiles.push({ ...outcome, series: 0, granules: [] });
          continue;
        }
        if (m.samples.length === 0)
          none.push(
            `${outcome.tileId}: ${m.reason ?? "no series"} (${Object.values(m.candidates).reduce((a, b) => a + b, 0)} labelled pixels with ${sampling.minDates} clear dates, ${m.fewDates} drawn with fewer whole-patch-clear dates)`,
          );
        all.push(...m.samples);
        tiles.push({ ...outcome, series: m.samples.length, granules: m.granules });
      }
      if (all.length === 0) throw noneRefusal(input.input, "training series", none);

      const evalCap = sampling.evalPerClass ?? sampling.perClass;
      const capOf = (group: string) =>
        group === "UNLABELLED"
          ? sampling.unlabelled
          : group.startsWith("TRAIN/")
            ? sampling.perClass
            : evalCap;
      const groups = new Map<string, SeriesSample[]>();
      for (const s of all) {
        const group = groups.get(capGroup(s));
        if (group) group.push(s);
        else groups.set(capGroup(s), [s]);
      }
      const kept: SeriesSample[] = [];
      for (const [group, samples] of groups) {
        samples.sort((a, b) => a.key - b.key || a.id.localeCompare(b.id));
        kept.push(...samples.slice(0, capOf(group)));
        for (const s of samples.slice(capOf(group))) await deleteObject(s3, ref(outputs, s.file.key));
      }
      kept.sort((a, b) => a.file.key.localeCompare(b.file.key));

      const counts = Object.fromEntries(SeriesSplits.map((s) => [s, 0])) as SeriesDatasetManifest["counts"];
      const classHistogram = Object.fromEntries(
        SeriesSplits.map((s) => [s, Array(14).fill(0)]),
      ) as SeriesDatasetManifest["classHistogram"];
      for (const s of kept) {
        counts[s.split]++;
        const histogram = classHistogram[s.split];
        histogram[s.label] = (histogram[s.label] as number) + 1;
      }
      const manifest: SeriesDatasetManifest = {
        kind: "series",
        name: String(input.input.name),
        year: Number(input.input.year),
        input: input.input,
        sampling,
        seed: input.seed,
        validationShare: input.validationShare,
        bands: SeriesBands,
        normalization: { divideBy: 10000 },
        longest: Math.max(0, ...kept.map((s) => s.dates)),
        counts,
        classHistogram,
        capped: all.length - kept.length,
        tiles,
        files: kept.map((s) => s.file),
      };
      const key = `${input.outputPrefix}dataset.json`;
      await putIfChanged(s3, outputs, key, `${JSON.stringify(manifest, null, 2)}\n`, "application/json");
      return {
        chips: kept.length,
        training: counts.TRAIN,
        validation: counts.VALIDATE,
        datasetJson: formatS3Url(outputs, key),
      };
    },
  };
}
