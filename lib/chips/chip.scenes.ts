import type { SceneChoice, SceneRule } from "../contracts/chips.contract.ts";
import type { Candidate } from "../contracts/granule.contract.ts";
import { parseGranuleId } from "../contracts/granule.id.ts";
import { dayOfYear } from "../core/day.of.year.ts";

/**
 * A tile's three scenes as the seed's dataset chose them (ClarkCGA workflow.ipynb): S30 only,
 * inside the season, cloud cover at most `maxCloudCover`; the highest coverage of the ladder at
 * which at least three scenes remain; of those, by date, the first, the middle (index n // 2) and
 * the last. No such triple is a skip with the reason, never a failure: a cloudy tile is data.
 */
export function chooseChipScenes(
  year: number,
  candidates: readonly Candidate[],
  rule: SceneRule,
): SceneChoice {
  const [start, end] = [dayOfYear(year, rule.season.start), dayOfYear(year, rule.season.end)];
  const clear = candidates.filter(
    (c) =>
      parseGranuleId(c.id).product === "S30" &&
      c.doy >= start &&
      c.doy <= end &&
      c.cloudCover <= rule.maxCloudCover,
  );
  for (const coverage of rule.coverageLadder) {
    const kept = clear
      .filter((c) => c.spatialCoverage >= coverage)
      .sort((a, b) => a.doy - b.doy || a.id.localeCompare(b.id));
    if (kept.length < rule.minScenes) continue;
    const picks = [kept[0], kept[Math.floor(kept.length / 2)], kept[kept.length - 1]] as Candidate[];
    return {
      scenes: picks.map(({ id, doy, cloudCover, spatialCoverage }) => ({
        id,
        doy,
        cloudCover,
        spatialCoverage,
      })),
      coverage,
      qualifying: kept.length,
    };
  }
  const lowest = rule.coverageLadder[rule.coverageLadder.length - 1];
  return {
    skipped: `${clear.length} S30 scenes ${rule.season.start}..${rule.season.end} with cloud cover <= ${rule.maxCloudCover} %, fewer than ${rule.minScenes} at every coverage down to ${lowest} %`,
  };
}
