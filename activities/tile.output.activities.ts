import type { S3Client } from "@aws-sdk/client-s3";
import type { z } from "zod";
import type { Config } from "../lib/config/config.schema.ts";
import {
  type AnyTileManifest,
  FindTileOutputInputParser,
  type TileManifest,
  TileManifestRecordParser,
  WriteTileManifestInputParser,
} from "../lib/contracts/tile.contract.ts";
import { recordedTiling, tilingTag } from "../lib/contracts/tiling.contract.ts";
import { formatS3Url } from "../lib/core/s3.url.ts";
import { isSeries, loadAnyManifest } from "../lib/series/series.manifest.ts";
import { getJson, objectSize, putJson, ref } from "../lib/storage/s3.objects.ts";
import { parseInput } from "./activity.failures.ts";

export function createTileOutputActivities(s3: S3Client, config: Config) {
  const { outputs } = config.storage;
  return {
    /**
     * The tile's manifest if the tile is done (so a re-run does nothing), else null. Checked, not
     * assumed: the maps the manifest names must be there too.
     */
    async findTileOutput(raw: z.input<typeof FindTileOutputInputParser>): Promise<AnyTileManifest | null> {
      const { outputPrefix, model, tiling } = parseInput(FindTileOutputInputParser, raw, "findTileOutput");
      // A manifest that does not parse does not mark the tile done: it is mapped again.
      const parsed = TileManifestRecordParser.safeParse(
        await getJson(s3, ref(outputs, `${outputPrefix}manifest.json`)),
      );
      if (!parsed.success) return null;
      const manifest = parsed.data as unknown as AnyTileManifest;
      // Keyed by the model file's sha256, not its name: a re-exported model maps the tile again.
      if (model !== undefined) {
        const wanted = await loadAnyManifest(model).catch(() => undefined);
        if (wanted && manifest.model?.sha256 !== wanted.sha256) return null;
        // So is a map of another tiling.
        const had = "windows" in manifest ? manifest.tiling : undefined;
        if (
          wanted &&
          tiling &&
          !isSeries(wanted) &&
          tilingTag(recordedTiling(had, wanted.chip)) !== tilingTag(tiling)
        )
          return null;
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
