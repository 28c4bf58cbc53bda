import { z } from "zod";
import { StackHeaderParser } from "./stack.header.ts";

/** Rows and columns of the staged series' chunks: small, as every date's chunk row is held at once. */
export const SeriesChunk = 64;

/**
 * A staged time series: one stack file per observation date (the existing stack format with six
 * channels, lib/pipeline/stack.format.ts), all on one label-grid box and chunking, and this index,
 * written last. A date's pixel that is not clear (cloud, adjacent cloud, shadow, fill, outside the
 * swath) holds nodata in all six bands: that is the per-pixel, per-date validity mask, read back
 * as such by the stack reader.
 */
export const SeriesIndexParser = z
  .object({
    grid: StackHeaderParser.shape.grid,
    chunk: z.number().int().positive(),
    /** Dates with at least one clear pixel on the box, in date order. */
    dates: z
      .array(
        z
          .object({
            granule: z.string(),
            doy: z.number().int().min(1).max(366),
            /** The date's stack, relative to the work location. */
            key: z.string(),
            clearPixels: z.number().int().min(0),
          })
          .strict(),
      )
      .min(1),
    /** Chosen granules without one clear pixel on the box: not stored. */
    dropped: z.array(z.string()),
    pixels: z
      .object({
        total: z.number().int(),
        /** Pixels clear on at least one date: the ones a series model can map. */
        clearOnce: z.number().int(),
      })
      .strict(),
  })
  .strict();
export type SeriesIndex = z.infer<typeof SeriesIndexParser>;
