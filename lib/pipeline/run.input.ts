import { z } from "zod";
import { RegionSpecParser } from "../region/region.spec.ts";
import { unsafeKeyReason } from "../storage/s3.url.ts";
import { DefaultSelectionLimits } from "./granule.select.ts";
import { DefaultSeasonWindows, SeasonWindowsParser } from "./season.windows.ts";

/** A run's output folder, relative to the outputs location: never able to climb out of it. */
export const OutputPrefixParser = z
  .string()
  .min(1)
  .superRefine((prefix, ctx) => {
    const reason = unsafeKeyReason(prefix);
    if (reason) ctx.addIssue({ code: "custom", message: reason });
    else if (!prefix.endsWith("/")) ctx.addIssue({ code: "custom", message: "must end in '/'" });
  });

export const RunIdParser = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-'");

/** A run id from a workflow id (a scheduled run's id carries the time, with ':' in it). */
export function runIdFromWorkflowId(workflowId: string): string {
  return workflowId.replace(/[^A-Za-z0-9._-]/g, "-");
}

/** Which season: a year, or relative to when the run starts (for schedules that fire every year). */
export const RunYearParser = z.union([z.number().int(), z.literal("current"), z.literal("previous")]);

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
    chip: z.object({ size: z.number().int().positive(), stride: z.number().int().positive() }).strict(),
    /** Present for a time-series model: the most dates it takes. */
    series: z
      .object({ maxDates: z.number().int().min(1) })
      .strict()
      .optional(),
    /** Defaults to `runs/<runId>/`. */
    outputPrefix: OutputPrefixParser.optional(),
    /** Tile workflows running at once. */
    maxTilesInFlight: z.number().int().min(1).max(500).default(8),
    /** Tiles per batch workflow: the second level of the fan-out that keeps every history small. */
    batchSize: z.number().int().min(1).max(500).default(50),
    /** Rounds of retrying failed tiles after the first pass, and the wait before each. */
    retryRounds: z.number().int().min(0).max(10).default(2),
    retryDelaySeconds: z.number().min(0).default(60),
    inferenceQueue: z.string().min(1),
    inferenceHeartbeatSeconds: z.number().int().min(1).default(60),
    cpuHeartbeatSeconds: z.number().int().min(1).default(300),
    /** Only these tiles of the region (tests, or re-running a chosen list). */
    tiles: z.array(z.string()).optional(),
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
