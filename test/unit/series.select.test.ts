import { describe, expect, it } from "vitest";
import { DefaultSeasonWindows } from "../../lib/contracts/season.windows.ts";
import { chooseSeason } from "../../lib/series/series.select.ts";

const candidate = (id: string, doy: number, cloudCover: number, spatialCoverage = 100) => ({
  id,
  doy,
  cloudCover,
  spatialCoverage,
});

describe("choosing a season's observations for a series model", () => {
  it("keeps every observation in the season with a clear pixel to offer, in date order", () => {
    const chosen = chooseSeason(
      2022,
      [
        candidate("late", 250, 80),
        candidate("april", 95, 0),
        candidate("all-cloud", 150, 100),
        candidate("no-coverage", 160, 0, 0),
        candidate("winter", 20, 0),
        candidate("november", 310, 0),
        candidate("june", 170, 45, 40),
      ],
      DefaultSeasonWindows,
      48,
    );
    expect(chosen.chosen.map((c) => c.id)).toEqual(["april", "june", "late"]);
    expect(chosen.usable).toBe(3);
    expect(chosen.overMaxDates).toBe(0);
  });

  it("over the model's dates, keeps the clearest and best covered, still in date order", () => {
    const season = Array.from({ length: 10 }, (_, i) => candidate(`d${i}`, 100 + 15 * i, (i * 37) % 100));
    const chosen = chooseSeason(2022, season, DefaultSeasonWindows, 4);
    expect(chosen.chosen.map((c) => c.cloudCover)).toEqual([0, 11, 22, 33]);
    expect(chosen.chosen.map((c) => c.doy)).toEqual(
      [...chosen.chosen.map((c) => c.doy)].sort((a, b) => a - b),
    );
    expect(chosen.overMaxDates).toBe(6);
  });
});
