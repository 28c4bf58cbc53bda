import type { Candidate, SelectionLimits } from "../contracts/granule.contract.ts";
import type { SeasonWindow } from "../contracts/season.windows.ts";
import { windowDays } from "../contracts/season.windows.ts";

export type WindowChoice =
  | { window: SeasonWindow; chosen: Candidate; candidates: number }
  | { window: SeasonWindow; chosen: undefined; candidates: number; reason: string };

/**
 * One granule per window: the one with the least cloud plus missing coverage (each in percent),
 * ties to the earlier date, then the id. S30 and L30 compete on equal terms.
 */
export function chooseGranules(
  year: number,
  candidates: Candidate[],
  windows: SeasonWindow[],
  limits: SelectionLimits,
): WindowChoice[] {
  return windows.map((window) => {
    const [start, end] = windowDays(year, window);
    const inWindow = candidates.filter((c) => c.doy >= start && c.doy <= end);
    const usable = inWindow.filter(
      (c) => c.cloudCover <= limits.maxCloudCover && c.spatialCoverage >= limits.minSpatialCoverage,
    );
    const score = (c: Candidate) => c.cloudCover + (100 - c.spatialCoverage);
    const chosen = [...usable].sort(
      (a, b) => score(a) - score(b) || a.doy - b.doy || a.id.localeCompare(b.id),
    )[0];
    if (chosen) return { window, chosen, candidates: inWindow.length };
    const reason =
      inWindow.length === 0
        ? "no granule"
        : `${inWindow.length} granules, none with cloud <= ${limits.maxCloudCover} % and coverage >= ${limits.minSpatialCoverage} %`;
    return { window, chosen: undefined, candidates: inWindow.length, reason };
  });
}
