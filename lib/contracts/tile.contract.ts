// A tile: the tile workflow's input, the batch workflow's, and the manifest a finished tile leaves in S3.
import { z } from "zod";
import type { GranuleSelection, SelectedGranule } from "./granule.contract.ts";
import { PixelGridParser } from "./grid.contract.ts";
import { OutputPrefixParser } from "./output.prefix.ts";
import type { PredictedSeries, PredictedTile } from "./predict.contract.ts";
import {
  ChipParser,
  HeartbeatSecondsParser,
  RunIdParser,
  SeasonYearParser,
  SeriesParser,
} from "./run.contract.ts";
import type { StagedTile } from "./stage.contract.ts";
import { TileIdParser } from "./tile.id.ts";
import { TilingParser } from "./tiling.contract.ts";

/** One tile of one season with one model, written under `outputPrefix` (relative to the outputs location). */
export const TileWorkflowInputParser = z
  .object({
    tileId: TileIdParser,
    year: SeasonYearParser,
    model: z.string().min(1),
    windows: z
      .array(z.object({ start: z.string(), end: z.string() }).strict())
      .min(1)
      .max(12),
    maxCloudCover: z.number().min(0).max(100),
    minSpatialCoverage: z.number().min(0).max(100),
    /** Staging: the grid is at least `size` wide, cut in chunks of `stride` (a series model: patch and chunk). */
    chip: ChipParser,
    /** Present for a time-series model: the most dates it takes (its manifest's maxDates). */
    series: SeriesParser.optional(),
    /** A chip model's tiling; absent: its manifest's (mmseg unless it names one). */
    tiling: TilingParser.optional(),
    outputPrefix: z.string().regex(/^([^/]+\/)+$/),
    /** Task queue of the inference pool. */
    inferenceQueue: z.string().min(1),
    /** How soon a silent inference worker counts as lost and its tile is retried (and resumed). */
    inferenceHeartbeatSeconds: HeartbeatSecondsParser.default(60),
    /** The same for CPU-pool activities (staging heartbeats once per granule). */
    cpuHeartbeatSeconds: HeartbeatSecondsParser.default(300),
  })
  .strict();
export type TileWorkflowInput = z.input<typeof TileWorkflowInputParser>;
export type TileWorkflowSpec = z.output<typeof TileWorkflowInputParser>;

export const BatchInputParser = z
  .object({
    runId: RunIdParser,
    /** The run's retry round (the run takes at most 10). */
    round: z.number().int().min(0).max(10),
    parentWorkflowId: z.string().min(1),
    tiles: z.array(z.string()).min(1).max(500),
    outputPrefix: OutputPrefixParser,
    maxInFlight: z.number().int().min(1).max(500),
    tileTemplate: TileWorkflowInputParser.omit({ tileId: true, outputPrefix: true }),
  })
  .strict();
export type BatchInput = z.input<typeof BatchInputParser>;

const Prefix = z.string().regex(/^([^/]+\/)+$/, "a relative folder ending in '/'");

/** The record of a finished tile; written last, so its presence means the tile is done. */
export interface TileManifest {
  tileId: string;
  year: number;
  model: PredictedTile["model"];
  labelGrid: string;
  granules: SelectedGranule[];
  candidates: number;
  /** Granules left out for a missing or malformed catalogue record. */
  skipped: GranuleSelection["skipped"];
  grid: StagedTile["grid"];
  /** How the windows covered the tile (manifests from before it was a choice lack it: mmseg). */
  tiling?: PredictedTile["tiling"];
  windows: PredictedTile["windows"];
  pixels: PredictedTile["pixels"] & { validInAllDates: number };
  outputs: { classes: string; confidence: string; manifest: string };
  /** The maps' SHA-256 and size as written (manifests from before this was recorded lack it). */
  files?: PredictedTile["files"];
  timings: { selectSeconds: number; stageSeconds: number; predictSeconds: number };
}

/** The record of a tile mapped by a time-series model: dates and clear observations instead of windows. */
export interface SeriesTileManifest extends Omit<TileManifest, "windows" | "pixels"> {
  pixels: PredictedSeries["pixels"] & { clearOnce: number };
  series: PredictedSeries["series"] & {
    /** Observations of the season with a clear pixel to offer, and those left out over maxDates. */
    usable: number;
    overMaxDates: number;
    /** Chosen granules without one clear pixel on the tile's grid. */
    dropped: string[];
  };
}

export type AnyTileManifest = TileManifest | SeriesTileManifest;

export const FindTileOutputInputParser = z
  .object({
    outputPrefix: Prefix,
    /** The model the tile is to be mapped with: a manifest made by another file of it is stale. */
    model: z.string().min(1).optional(),
    /** The tiling it is to be mapped with: a manifest of another tiling is stale. */
    tiling: TilingParser.optional(),
  })
  .strict();
export const WriteTileManifestInputParser = z
  .object({ outputPrefix: Prefix, manifest: z.record(z.string(), z.unknown()) })
  .strict();

/**
 * `manifest.json` as read back: the fields every reader relies on (which tile, where on the label
 * grid, which model file mapped it) are checked; the rest stays as the tile wrote it.
 */
export const TileManifestRecordParser = z
  .object({
    tileId: TileIdParser,
    grid: PixelGridParser,
    model: z.object({ name: z.string(), sha256: z.string() }).loose().optional(),
  })
  .loose();
