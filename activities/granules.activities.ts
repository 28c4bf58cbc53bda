import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import type { Config } from "../lib/config/config.schema.ts";
import { TileIdParser } from "../lib/grid/tile.table.ts";
import { type HlsProduct, HlsProducts, parseGranuleId } from "../lib/hls/granule.id.ts";
import { createS3Archive, type HlsArchive } from "../lib/hls/hls.archive.ts";
import { sidecarKey } from "../lib/hls/lpdaac.keys.ts";
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

export interface GranuleSelection {
  granules: SelectedGranule[];
  /** Candidates seen in the season, for the tile's manifest. */
  candidates: number;
  seconds: number;
}

const SidecarParser = z.object({
  properties: z.object({ "eo:cloud_cover": z.number(), "hls:spatial_coverage": z.number() }).passthrough(),
});

export function createGranuleActivities(
  s3: S3Client,
  config: Config,
  archive: HlsArchive = createS3Archive(s3, config.storage.hls),
) {
  async function listCandidates(product: HlsProduct, tileId: string, year: number): Promise<Candidate[]> {
    const ids = await archive.listGranules(product, tileId, year);
    const found = await Promise.all(
      ids.map(async (id) => {
        const granule = parseGranuleId(id);
        const text = await archive.getText(sidecarKey(granule));
        const sidecar = SidecarParser.safeParse(text === undefined ? undefined : JSON.parse(text));
        // Without its catalogue entry a granule may be half-uploaded: leave it out.
        if (!sidecar.success) return undefined;
        return {
          id,
          doy: granule.doy,
          cloudCover: sidecar.data.properties["eo:cloud_cover"],
          spatialCoverage: sidecar.data.properties["hls:spatial_coverage"],
        };
      }),
    );
    return found.filter((c): c is Candidate => c !== undefined);
  }

  return {
    /** Lists the tile's granules of the year and picks one per season window. */
    async selectGranules(raw: SelectGranulesInput): Promise<GranuleSelection> {
      const started = Date.now();
      const input = parseInput(SelectGranulesInputParser, raw, "selectGranules");
      const candidates = (
        await Promise.all(HlsProducts.map((p) => listCandidates(p, input.tileId, input.year)))
      ).flat();
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
        seconds: (Date.now() - started) / 1000,
      };
    },
  };
}
