import { z } from "zod";

import { FirstHlsYear } from "../../lib/hls/hls.years.ts";

/**
 * Presets. `small` crops every tile to a window over the region and keeps few granules: a world
 * for tests in seconds. `full` writes real 3660-pixel tiles at the revisit of one Sentinel-2 and
 * one Landsat satellite (the real archive has about twice as many), enough for the demo.
 */
export const SynthScales = {
  small: { tilePixels: 480, s30EveryDays: 16, l30EveryDays: 16 },
  full: { tilePixels: 3660, s30EveryDays: 10, l30EveryDays: 16 },
} as const;
export type SynthScale = keyof typeof SynthScales;

const MonthDay = z.string().regex(/^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, "expected MM-DD");

export const SynthInputParser = z
  .object({
    /** Postal code or name. */
    state: z.string().min(1),
    year: z
      .number()
      .int()
      .min(FirstHlsYear, `HLS v2.0 starts in ${FirstHlsYear}`)
      .refine((y) => y <= new Date().getUTCFullYear(), { message: "is in the future" }),
    scale: z.enum(["small", "full"]),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1),
    /** Season as MM-DD in the year; HLS granules are made for every acquisition inside it. */
    season: z.object({ start: MonthDay, end: MonthDay }).strict(),
  })
  .strict();
export type SynthInput = z.infer<typeof SynthInputParser>;

export const DefaultSeason = { start: "04-01", end: "10-31" } as const;
