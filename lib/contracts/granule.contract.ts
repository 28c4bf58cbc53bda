// The granule choice: select-granules and select-season activity inputs, and the selection they return.
import { z } from "zod";
import type { HlsProduct } from "./granule.id.ts";
import { type SeasonWindow, SeasonWindowsParser } from "./season.windows.ts";
import { TileIdParser } from "./tile.id.ts";

/** A granule as the catalogue describes it. */
export interface Candidate {
  id: string;
  doy: number;
  cloudCover: number;
  spatialCoverage: number;
}

export interface SelectionLimits {
  /** Candidates above this cloud cover (percent) are not used. */
  maxCloudCover: number;
  /** Candidates below this spatial coverage (percent) are not used. */
  minSpatialCoverage: number;
}

export const DefaultSelectionLimits: SelectionLimits = { maxCloudCover: 60, minSpatialCoverage: 30 };

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

export const SelectSeasonInputParser = z
  .object({
    tileId: TileIdParser,
    year: z.number().int(),
    /** The season runs from the first window's start to the last window's end. */
    windows: SeasonWindowsParser,
    /** The most dates the model takes. */
    maxDates: z.number().int().min(1),
  })
  .strict();
export type SelectSeasonInput = z.input<typeof SelectSeasonInputParser>;

export interface SelectedGranule extends Candidate {
  product: HlsProduct;
  window: SeasonWindow;
}

/** A granule left out of the choice because its catalogue record is missing or malformed. */
export interface SkippedGranule {
  id: string;
  reason: string;
}

export interface GranuleSelection {
  granules: SelectedGranule[];
  /** Candidates seen in the season, for the tile's manifest. */
  candidates: number;
  /** Granules without a usable catalogue record: how many, and the first few with their reasons. */
  skipped: { count: number; granules: SkippedGranule[] };
  seconds: number;
}
