// Staging: a tile's granules warped onto the label grid, as a stack (chip models) or a series (time-series models).

import { z } from "zod";
import type { TargetGrid } from "./grid.contract.ts";
import type { SeriesIndex } from "./series.index.ts";
import { TileIdParser } from "./tile.id.ts";

export const StageTileInputParser = z
  .object({
    tileId: TileIdParser,
    year: z.number().int(),
    /** Granule ids, one per season window, in date order. */
    granules: z.array(z.string()).min(1),
    labelGrid: z
      .object({
        epsg: z.number().int(),
        origin: z.tuple([z.number(), z.number()]),
        pixelSize: z.number().positive(),
      })
      .strict(),
    /** The model's window (a staged grid is never smaller) and stride (the stack's chunk size). */
    chip: z.object({ size: z.number().int().positive(), stride: z.number().int().positive() }).strict(),
  })
  .strict();
export type StageTileInput = z.infer<typeof StageTileInputParser>;

export interface StagedTile {
  /** Key of the stack in the work location (relative to its prefix). */
  stackKey: string;
  grid: TargetGrid;
  validPixels: number;
  bytes: number;
  seconds: number;
}

export interface StagedSeries {
  /** Folder of the series in the work location (relative to its prefix); its index is `index.json`. */
  seriesKey: string;
  index: SeriesIndex;
  seconds: number;
}
