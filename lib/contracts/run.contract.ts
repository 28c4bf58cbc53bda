import { z } from "zod";
import { DefaultSelectionLimits } from "./granule.contract.ts";
import { OutputPrefixParser } from "./output.prefix.ts";
import { RegionSpecParser } from "./region.spec.ts";
import { DefaultSeasonWindows, SeasonWindowsParser } from "./season.windows.ts";
import { TilingParser } from "./tiling.contract.ts";

export const RunIdParser = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-'");

/** A run id from a workflow id (a scheduled run's id carries the time, with ':' in it). */
export function runIdFromWorkflowId(workflowId: string): string {
  return workflowId.replace(/[^A-Za-z0-9._-]/g, "-");
}

/** Which season: a year, or relative to when the run starts (for schedules that fire every year). */
/** A season's year: HLS v2.0 begins in 2013; the upper bound only keeps absurd numbers out. */
export const SeasonYearParser = z.number().int().min(2013).max(2100);

export const RunYearParser = z.union([SeasonYearParser, z.literal("current"), z.literal("previous")]);

/** Chip and stride of a model's staging, in pixels: a tile is 3660 px wide. */
export const ChipParser = z
  .object({ size: z.number().int().min(1).max(4096), stride: z.number().int().min(1).max(4096) })
  .strict();

/** A time-series model's most dates a pixel takes (a season has a few hundred acquisitions at most). */
export const SeriesParser = z.object({ maxDates: z.number().int().min(1).max(1000) }).strict();

/** Heartbeat timeouts, in seconds: a worker silent for an hour is lost whatever it does. */
export const HeartbeatSecondsParser = z.number().int().min(1).max(3600);

export const RunInputParser = z
  .object({
    /** Names the run's child workflows and default output folder; defaults to the workflow id (schedules). */
    runId: RunIdParser.optional(),
    region: RegionSpecParser,
    year: RunYearParser,
    model: z.string().min(1),
    windows: SeasonWindowsParser.default(DefaultSeasonWindows),
    maxCloudCover: z.number().min(0).max(100).default(DefaultSelectionLimits.maxCloudCover),
    minSpatialCoverage: z.number().min(0).max(100).default(DefaultSelectionLimits.minSpatialCoverage),
    chip: ChipParser,
    /** Present for a time-series model: the most dates it takes. */
    series: SeriesParser.optional(),
    /** A chip model's tiling; absent: its manifest's (mmseg unless it names one). */
    tiling: TilingParser.optional(),
    /** Defaults to `runs/<runId>/`. */
    outputPrefix: OutputPrefixParser.optional(),
    /** Tile workflows running at once. */
    maxTilesInFlight: z.number().int().min(1).max(500).default(8),
    /** Tiles per batch workflow: the second level of the fan-out that keeps every history small. */
    batchSize: z.number().int().min(1).max(500).default(50),
    /** Rounds of retrying failed tiles after the first pass, and the wait before each (a day at most). */
    retryRounds: z.number().int().min(0).max(10).default(2),
    retryDelaySeconds: z.number().min(0).max(86_400).default(60),
    inferenceQueue: z.string().min(1),
    inferenceHeartbeatSeconds: HeartbeatSecondsParser.default(60),
    cpuHeartbeatSeconds: HeartbeatSecondsParser.default(300),
    /** Only these tiles of the region (tests, or re-running a chosen list); CONUS has under 1000. */
    tiles: z.array(z.string()).max(2000).optional(),
  })
  .strict();
export type RunInput = z.input<typeof RunInputParser>;
export type RunSpec = z.output<typeof RunInputParser>;

export const TileStateParser = z.enum(["pending", "running", "done", "failed"]);
export type TileState = z.infer<typeof TileStateParser>;

export interface TileStatus {
  tileId: string;
  state: TileState;
  attempts: number;
  reason?: string;
}

export interface RunStatus {
  runId: string;
  year: number;
  region: string;
  outputPrefix: string;
  phase: "planning" | "mapping" | "retrying" | "recording" | "finished";
  round: number;
  startedAt: string;
  /** When each tile finished, seconds since the run started (for rates and ETAs). */
  finishedOffsets: number[];
  tiles: TileStatus[];
}

/** `tiles.json`, the run's status as its workflow recorded it at its end. */
export const RunStatusRecordParser = z.object({
  runId: z.string(),
  year: z.number().int(),
  region: z.string(),
  outputPrefix: z.string(),
  phase: z.enum(["planning", "mapping", "retrying", "recording", "finished"]),
  round: z.number().int(),
  startedAt: z.string(),
  finishedOffsets: z.array(z.number()),
  tiles: z.array(
    z.object({
      tileId: z.string(),
      state: TileStateParser,
      attempts: z.number().int(),
      reason: z.string().optional(),
    }),
  ),
}) satisfies z.ZodType<RunStatus>;

export interface TileUpdate {
  tileId: string;
  state: TileState;
  reason?: string;
  /** Retry round and order within its batch: signals may arrive out of order, and an older one must not win. */
  round: number;
  seq: number;
}

export const PlanRunInputParser = z
  .object({ region: RegionSpecParser, tiles: z.array(z.string()).optional() })
  .strict();
export const RecordRunInputParser = z
  .object({ outputPrefix: OutputPrefixParser, run: z.record(z.string(), z.unknown()) })
  .strict();

export interface RunPlan {
  regionName: string;
  tileIds: string[];
}
