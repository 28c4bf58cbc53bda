import type { S3Client } from "@aws-sdk/client-s3";
import type { Config } from "../lib/config/config.schema.ts";
import {
  type Candidate,
  type GranuleSelection,
  type SelectGranulesInput,
  SelectGranulesInputParser,
  type SelectSeasonInput,
  SelectSeasonInputParser,
} from "../lib/contracts/granule.contract.ts";
import { parseGranuleId } from "../lib/contracts/granule.id.ts";
import { type SeasonWindow, windowDays } from "../lib/contracts/season.windows.ts";
import { lookUpTileYear } from "../lib/hls/granule.catalogue.ts";
import { createS3Archive, type HlsArchive } from "../lib/hls/hls.archive.ts";
import { chooseGranules } from "../lib/pipeline/granule.select.ts";
import { chooseSeason, type SeasonChoice } from "../lib/series/series.select.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";

export function createGranuleActivities(
  s3: S3Client,
  config: Config,
  archive: HlsArchive = createS3Archive(s3, config.storage.hls),
) {
  const lookUpYear = (tileId: string, year: number) => lookUpTileYear(archive, tileId, year);

  return {
    /**
     * Lists the tile's granules of the year and keeps every observation of the season with a clear
     * pixel to offer (a time-series model's staging), at most `maxDates` of them.
     */
    async selectSeason(raw: SelectSeasonInput): Promise<GranuleSelection & Omit<SeasonChoice, "chosen">> {
      const started = Date.now();
      const input = parseInput(SelectSeasonInputParser, raw, "selectSeason");
      const { candidates, skipped } = await lookUpYear(input.tileId, input.year);
      const { chosen, ...counts } = chooseSeason(input.year, candidates, input.windows, input.maxDates);
      if (chosen.length === 0)
        throw nonRetryable(
          "NoUsableGranule",
          `tile ${input.tileId} ${input.year} has no observation with a clear pixel in the season`,
        );
      const span = {
        start: (input.windows[0] as SeasonWindow).start,
        end: (input.windows[input.windows.length - 1] as SeasonWindow).end,
      };
      return {
        // Each date with the season window it falls in (the whole season between windows).
        granules: chosen.map((c) => ({
          ...c,
          product: parseGranuleId(c.id).product,
          window:
            input.windows.find((w) => {
              const [start, end] = windowDays(input.year, w);
              return c.doy >= start && c.doy <= end;
            }) ?? span,
        })),
        candidates: candidates.length,
        skipped,
        ...counts,
        seconds: (Date.now() - started) / 1000,
      };
    },

    /** Lists the tile's granules of the year and picks one per season window. */
    async selectGranules(raw: SelectGranulesInput): Promise<GranuleSelection> {
      const started = Date.now();
      const input = parseInput(SelectGranulesInputParser, raw, "selectGranules");
      const { candidates, skipped } = await lookUpYear(input.tileId, input.year);
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
        skipped,
        seconds: (Date.now() - started) / 1000,
      };
    },
  };
}
