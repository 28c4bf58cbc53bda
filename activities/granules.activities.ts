import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import type { Config } from "../lib/config/config.schema.ts";
import { TileIdParser } from "../lib/grid/tile.table.ts";
import { type CatalogueLookup, lookUpGranule } from "../lib/hls/granule.catalogue.ts";
import { type HlsProduct, HlsProducts, parseGranuleId } from "../lib/hls/granule.id.ts";
import { createS3Archive, type HlsArchive } from "../lib/hls/hls.archive.ts";
import { type Candidate, chooseGranules, DefaultSelectionLimits } from "../lib/pipeline/granule.select.ts";
import { type SeasonWindow, SeasonWindowsParser } from "../lib/pipeline/season.windows.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";

export const SelectGranulesInputParser = z
  .object({
    tileId: TileIdParser,
    year: z.number().int(),
    windows: SeasonWindowsParser,
    maxCloudCover: z.number().min(0).max(100).default(DefaultSelectionLimits.maxCloudCover),
    minSpatialCoverage: z.number().min(0).max(100).default(DefaultSelectionLimits.minSpatialCoverage),
  })
  .strict();
export type SelectGranulesInput = z.input<typeof SelectGranulesInputParser>;

export interface SelectedGranule extends Candidate {
  product: HlsProduct;
  window: SeasonWindow;
}

/** A granule left out of the choice because its catalogue record is missing or malformed. */
export interface SkippedGranule {
  id: string;
  reason: string;
}

/** Skipped granules named in a selection (and so in a tile's manifest); the count is always exact. */
const SkippedListed = 20;

export interface GranuleSelection {
  granules: SelectedGranule[];
  /** Candidates seen in the season, for the tile's manifest. */
  candidates: number;
  /** Granules without a usable catalogue record: how many, and the first few with their reasons. */
  skipped: { count: number; granules: SkippedGranule[] };
  seconds: number;
}

export function createGranuleActivities(
  s3: S3Client,
  config: Config,
  archive: HlsArchive = createS3Archive(s3, config.storage.hls),
) {
  async function lookUpTile(product: HlsProduct, tileId: string, year: number): Promise<CatalogueLookup[]> {
    const folders = await archive.listGranules(product, tileId, year);
    return Promise.all(folders.map((folder) => lookUpGranule(archive, folder)));
  }

  return {
    /** Lists the tile's granules of the year and picks one per season window. */
    async selectGranules(raw: SelectGranulesInput): Promise<GranuleSelection> {
      const started = Date.now();
      const input = parseInput(SelectGranulesInputParser, raw, "selectGranules");
      const lookups = (
        await Promise.all(HlsProducts.map((p) => lookUpTile(p, input.tileId, input.year)))
      ).flat();
      const candidates = lookups.flatMap((l) => (l.candidate ? [l.candidate] : []));
      const skipped = lookups.flatMap((l) => ("skipped" in l ? [{ id: l.id, reason: l.skipped }] : []));
      const choices = chooseGranules(input.year, candidates, input.windows, input);
      const missing = choices.filter((c) => c.chosen === undefined);
      if (missing.length > 0) {
        const detail = missing
          .map((c) => `${c.window.start}..${c.window.end}: ${"reason" in c ? c.reason : ""}`)
          .join("; ");
        throw nonRetryable(
          "NoUsableGranule",
          `tile ${input.tileId} ${input.year} has no usable granule in ${detail}`,
        );
      }
      return {
        granules: choices.map((c) => {
          const chosen = c.chosen as Candidate;
          return { ...chosen, product: parseGranuleId(chosen.id).product, window: c.window };
        }),
        candidates: candidates.length,
        skipped: { count: skipped.length, granules: skipped.slice(0, SkippedListed) },
        seconds: (Date.now() - started) / 1000,
      };
    },
  };
}
