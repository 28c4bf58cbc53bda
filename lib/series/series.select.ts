import type { Candidate } from "../contracts/granule.contract.ts";
import { type SeasonWindow, windowDays } from "../contracts/season.windows.ts";

export interface SeasonChoice {
  /** The observations to stage, in date order (ties by id). */
  chosen: Candidate[];
  /** Observations of the season that had a clear pixel to offer. */
  usable: number;
  /** Usable ones left out because the model takes fewer dates: the cloudiest, least covered. */
  overMaxDates: number;
}

/**
 * Every observation of the season (first window's start to last window's end) that can have a
 * clear pixel: per-pixel cloud masking keeps the clear part of a cloudy granule, so only a granule
 * that is all cloud or has no coverage is left out. When there are more than `maxDates`, the ones
 * with the least cloud plus missing coverage are kept (ties to the earlier date, then the id).
 */
export function chooseSeason(
  year: number,
  candidates: Candidate[],
  windows: SeasonWindow[],
  maxDates: number,
): SeasonChoice {
  const start = windowDays(year, windows[0] as SeasonWindow)[0];
  const end = windowDays(year, windows[windows.length - 1] as SeasonWindow)[1];
  const byDate = (a: Candidate, b: Candidate) => a.doy - b.doy || a.id.localeCompare(b.id);
  const usable = candidates
    .filter((c) => c.doy >= start && c.doy <= end && c.cloudCover < 100 && c.spatialCoverage > 0)
    .sort(byDate);
  const score = (c: Candidate) => c.cloudCover + (100 - c.spatialCoverage);
  const chosen =
    usable.length <= maxDates
      ? usable
      : [...usable]
          .sort((a, b) => score(a) - score(b) || byDate(a, b))
          .slice(0, maxDates)
          .sort(byDate);
  return { chosen, usable: usable.length, overMaxDates: usable.length - chosen.length };
}
