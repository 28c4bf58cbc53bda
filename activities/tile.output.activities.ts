import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import type { Config } from "../lib/config/config.schema.ts";
import { loadAnyManifest } from "../lib/series/series.manifest.ts";
import { getJson, objectSize, putJson, ref } from "../lib/storage/s3.objects.ts";
import { formatS3Url } from "../lib/storage/s3.url.ts";
import { parseInput } from "./activity.failures.ts";
import type { GranuleSelection, SelectedGranule } from "./granules.activities.ts";
import type { PredictedTile } from "./predict.activities.ts";
import type { PredictedSeries } from "./series.predict.activities.ts";
import type { StagedTile } from "./stage.activities.ts";

const Prefix = z.string().regex(/^([^/]+\/)+$/, "a relative folder ending in '/'");

/** The record of a finished tile; written last, so its presence means the tile is done. */
export interface TileManifest {
  tileId: string;
  year: number;
  model: PredictedTile["model"];
  labelGrid: string;
  granules: SelectedGranule[];
  candidates: number;
  /** Granules left out for a missing or malformed catalogue record. */
  skipped: GranuleSelection["skipped"];
  grid: StagedTile["grid"];
  windows: PredictedTile["windows"];
  pixels: PredictedTile["pixels"] & { validInAllDates: number };
  outputs: { classes: string; confidence: string; manifest: string };
  /** The maps' SHA-256 and size as written (manifests from before this was recorded lack it). */
  files?: PredictedTile["files"];
  timings: { selectSeconds: number; stageSeconds: number; predictSeconds: number };
}

/** The record of a tile mapped by a time-series model: dates and clear observations instead of windows. */
export interface SeriesTileManifest extends Omit<TileManifest, "windows" | "pixels"> {
  pixels: PredictedSeries["pixels"] & { clearOnce: number };
  series: PredictedSeries["series"] & {
    /** Observations of the season with a clear pixel to offer, and those left out over maxDates. */
    usable: number;
    overMaxDates: number;
    /** Chosen granules without one clear pixel on the tile's grid. */
    dropped: string[];
  };
}

type AnyTileManifest = TileManifest | SeriesTileManifest;

export const FindTileOutputInputParser = z
  .object({
    outputPrefix: Prefix,
    /** The model the tile is to be mapped with: a manifest made by another file of it is stale. */
    model: z.string().min(1).optional(),
  })
  .strict();
export const WriteTileManifestInputParser = z
  .object({ outputPrefix: Prefix, manifest: z.record(z.string(), z.unknown()) })
  .strict();

export function createTileOutputActivities(s3: S3Client, config: Config) {
  const { outputs } = config.storage;
  return {
    /**
     * The tile's manifest if the tile is done (so a re-run does nothing), else null. Checked, not
     * assumed: the maps the manifest names must be there too.
     */
    async findTileOutput(raw: z.input<typeof FindTileOutputInputParser>): Promise<AnyTileManifest | null> {
      const { outputPrefix, model } = parseInput(FindTileOutputInputParser, raw, "findTileOutput");
      const manifest = (await getJson(s3, ref(outputs, `${outputPrefix}manifest.json`))) as
        | AnyTileManifest
        | undefined;
      if (!manifest) return null;
      // Keyed by the model file's sha256, not its name: a re-exported model maps the tile again.
      if (model !== undefined) {
        const wanted = await loadAnyManifest(model).catch(() => undefined);
        if (wanted && manifest.model.sha256 !== wanted.sha256) return null;
      }
      for (const name of ["classes.tif", "confidence.tif"]) {
        if ((await objectSize(s3, ref(outputs, `${outputPrefix}${name}`))) === undefined) return null;
      }
      return manifest;
    },

    async writeTileManifest<M extends AnyTileManifest>(raw: {
      outputPrefix: string;
      manifest: Omit<M, "outputs"> & { outputs: Omit<TileManifest["outputs"], "manifest"> };
    }): Promise<M> {
      const { outputPrefix } = parseInput(WriteTileManifestInputParser, raw, "writeTileManifest");
      const key = `${outputPrefix}manifest.json`;
      const manifest = {
        ...raw.manifest,
        outputs: { ...raw.manifest.outputs, manifest: formatS3Url(outputs, key) },
      } as M;
      await putJson(s3, ref(outputs, key), manifest);
      return manifest;
    },
  };
}
