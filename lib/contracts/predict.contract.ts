// Inference: predict-tile and predict-series activity inputs, and the records of a finished prediction.
import { z } from "zod";
import { TileIdParser } from "./tile.id.ts";
import { type Tiling, TilingParser } from "./tiling.contract.ts";

/** SHA-256 and size of a file as written, for the STAC catalogue (no re-reading at report time). */
export interface FileDigest {
  sha256: string;
  bytes: number;
}
export interface MapFiles {
  classes: FileDigest;
  confidence: FileDigest;
}

/** One date of a stack: its year and day of year (1 = 1 January), as its granule id has them. */
export const FrameDateParser = z
  .object({ year: z.number().int().min(1980).max(2100), dayOfYear: z.number().int().min(1).max(366) })
  .strict();
export type FrameDate = z.infer<typeof FrameDateParser>;

export const PredictTileInputParser = z
  .object({
    tileId: TileIdParser,
    /** The staged stack, relative to the work location. */
    stackKey: z.string().min(1),
    model: z.string().min(1),
    /** Folder for the tile's outputs, relative to the outputs location, ending in "/". */
    outputPrefix: z.string().regex(/^([^/]+\/)+$/, "a relative folder ending in '/'"),
    /** How windows cover the tile; absent: the model manifest's tiling (mmseg unless it names one). */
    tiling: TilingParser.optional(),
    /** The stack's dates in its order (its granules'): what a TL model is fed with each window. */
    dates: z.array(FrameDateParser).min(1).optional(),
  })
  .strict();
export type PredictTileInput = z.infer<typeof PredictTileInputParser>;

export interface PredictedTile {
  classes: string;
  confidence: string;
  model: { name: string; sha256: string; provider: string };
  /** The tiling the windows followed (records from before it was a choice lack it: mmseg). */
  tiling?: Tiling;
  windows: { total: number; run: number; skipped: number };
  /** Pixels of the staged grid, mapped (valid in every date and covered), and per class id. */
  pixels: { total: number; mapped: number; perClass: Record<string, number> };
  batchSize: number;
  resumedFromRow: number;
  seconds: number;
  /** SHA-256 and size of the two COGs as written, for the STAC catalogue (no re-reading at report time). */
  files: MapFiles;
}

/** `predict.json`, a finished prediction's record in S3. */
export const PredictedTileParser = z.custom<PredictedTile>(
  (v) => typeof v === "object" && v !== null && "classes" in v,
);

export const PredictSeriesInputParser = z
  .object({
    tileId: TileIdParser,
    /** The staged series' folder, relative to the work location. */
    seriesKey: z.string().regex(/^([^/]+\/)+$/, "a relative folder ending in '/'"),
    model: z.string().min(1),
    /** Folder for the tile's outputs, relative to the outputs location, ending in "/". */
    outputPrefix: z.string().regex(/^([^/]+\/)+$/, "a relative folder ending in '/'"),
  })
  .strict();
export type PredictSeriesInput = z.infer<typeof PredictSeriesInputParser>;

/** A series tile's prediction: the chip path's record, with pixels per date count instead of windows. */
export interface PredictedSeries extends Omit<PredictedTile, "windows" | "pixels"> {
  pixels: PredictedTile["pixels"] & {
    /** Pixels of the grid without one clear observation in the season: no data in the map. */
    noClearObservation: number;
  };
  series: {
    /** Dates staged, dates the model takes, and padded (masked) dates per pixel. */
    dates: number;
    maxDates: number;
    padded: number;
    /** Pixel batches run. */
    batches: number;
  };
}

/** A series tile's `predict.json`. */
export const PredictedSeriesParser = z.custom<PredictedSeries>(
  (v) => typeof v === "object" && v !== null && "series" in v,
);
