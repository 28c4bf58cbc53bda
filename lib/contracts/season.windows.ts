import { z } from "zod";
import { dayOfYear } from "../core/day.of.year.ts";

const MonthDay = z.string().regex(/^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, "expected MM-DD");

/** A part of the season from which one granule is chosen, as MM-DD to MM-DD inclusive. */
export const SeasonWindowParser = z.object({ start: MonthDay, end: MonthDay }).strict();
export type SeasonWindow = z.infer<typeof SeasonWindowParser>;

export const SeasonWindowsParser = z
  .array(SeasonWindowParser)
  .min(1)
  .superRefine((windows, ctx) => {
    windows.forEach((w, i) => {
      if (dayOfYear(2021, w.end) < dayOfYear(2021, w.start)) {
        ctx.addIssue({
          code: "custom",
          path: [i],
          message: `window ${w.start}..${w.end} ends before it starts`,
        });
      }
      const previous = windows[i - 1];
      if (previous && dayOfYear(2021, w.start) <= dayOfYear(2021, previous.end)) {
        ctx.addIssue({
          code: "custom",
          path: [i],
          message: `window ${w.start}..${w.end} overlaps the one before`,
        });
      }
    });
  });

/**
 * Three windows spread over the growing season, as the training chips were made (first, middle
 * and last of the season's clear scenes): spring green-up, mid-summer peak, late-season senescence.
 */
export const DefaultSeasonWindows: SeasonWindow[] = [
  { start: "04-01", end: "05-31" },
  { start: "06-01", end: "07-31" },
  { start: "08-01", end: "10-31" },
];

export function windowDays(year: number, window: SeasonWindow): [number, number] {
  return [dayOfYear(year, window.start), dayOfYear(year, window.end)];
}
