import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import type { Config } from "../config/config.schema.ts";
import { type RegionSpec, RegionSpecParser } from "../contracts/region.spec.ts";
import { type TileState, TileStateParser } from "../contracts/run.contract.ts";
import { resolveRegion } from "../region/region.ts";
import { getJson, listAll, objectSize, ref } from "../storage/s3.objects.ts";
import type { LiveStatus } from "./live.status.ts";

/** The fields of `run.json` the viewer shows; the rest (windows, chip, queues) it leaves alone. */
const RunRecordParser = z.object({
  runId: z.string(),
  region: RegionSpecParser,
  year: z.number().int(),
  model: z.string(),
  tiles: z.array(z.string()).optional(),
});

const TileOutcomeParser = z.object({
  tileId: z.string(),
  state: TileStateParser,
  reason: z.string().optional(),
});

/** `tiles.json` (the run's status at its end), as far as the viewer reads it. */
const TilesRecordParser = z.object({ region: z.string(), tiles: z.array(TileOutcomeParser) });

const AccuracyParser = z.object({ aAcc: z.number().nullable(), coverage: z.number().nullable() });

export interface TileEntry {
  tileId: string;
  /** "unknown" where neither Temporal nor the files say (a run cut off before writing tiles.json). */
  state: TileState | "unknown";
  reason?: string;
}

export interface RunEntry {
  runId: string;
  region: string;
  /** The region as the run was given it (run.json): the map page draws its outline. */
  regionSpec: RegionSpec;
  year: number;
  model: string;
  /** The workflow's state from Temporal, or "unknown" when Temporal is down or no longer has it. */
  workflowStatus: string;
  /** Where the tile states come from: the live `status` query, tiles.json, or the tile manifests. */
  tilesFrom: "temporal" | "tiles.json" | "manifests";
  tiles: TileEntry[];
  progress: { done: number; failed: number; running: number; total: number };
  accuracy?: { aAcc: number | null; coverage: number | null };
  hasMap: boolean;
  hasReport: boolean;
}

/** The run's folder under the outputs location; run ids are checked before they reach a key. */
export const runPrefix = (runId: string) => `runs/${runId}/`;

function regionName(spec: z.infer<typeof RegionSpecParser>): string {
  try {
    return resolveRegion(spec).name;
  } catch {
    return spec.kind === "state" ? spec.state : spec.kind;
  }
}

/** The runs in the outputs location, from its `runs/<run-id>/` folders (newest id last). */
export async function listRunIds(s3: S3Client, config: Pick<Config, "storage">): Promise<string[]> {
  const { outputs } = config.storage;
  const base = `${outputs.prefix}runs/`;
  const ids = (await listAll(s3, outputs.bucket, base, { folders: true })).map((p) =>
    p.slice(base.length, -1),
  );
  return ids.filter(Boolean).sort();
}

/**
 * One run as the files under its folder say, with Temporal's live view laid over them where it
 * answers; undefined when the folder has no readable run.json (no such run).
 */
export async function readRun(
  s3: S3Client,
  config: Pick<Config, "storage">,
  live: LiveStatus,
  runId: string,
): Promise<RunEntry | undefined> {
  const { outputs } = config.storage;
  const at = (name: string) => ref(outputs, `${runPrefix(runId)}${name}`);
  const [runJson, tilesJson, accuracyJson, mapSize, overviewSize, reportSize, liveRun] = await Promise.all([
    getJson(s3, at("run.json")),
    getJson(s3, at("tiles.json")),
    getJson(s3, at("accuracy.json")),
    objectSize(s3, at("map.tif")),
    objectSize(s3, at("overview/map.tif")),
    objectSize(s3, at("report.html")),
    live.run(runId),
  ]);
  const record = RunRecordParser.safeParse(runJson);
  if (!record.success) return undefined;
  const recorded = TilesRecordParser.safeParse(tilesJson);
  const accuracy = AccuracyParser.safeParse(accuracyJson);

  let tiles: TileEntry[];
  let tilesFrom: RunEntry["tilesFrom"];
  if (liveRun?.status) {
    tiles = liveRun.status.tiles.map(({ tileId, state, reason }) => ({
      tileId,
      state,
      ...(reason ? { reason } : {}),
    }));
    tilesFrom = "temporal";
  } else if (recorded.success) {
    tiles = recorded.data.tiles;
    tilesFrom = "tiles.json";
  } else {
    // Cut off before its end: a tile with a manifest finished; of the others nothing is known.
    const ids = record.data.tiles ?? [];
    const done = await Promise.all(ids.map((t) => objectSize(s3, at(`tiles/${t}/manifest.json`))));
    tiles = ids.map((tileId, i) => ({ tileId, state: done[i] === undefined ? "unknown" : "done" }));
    tilesFrom = "manifests";
  }
  const count = (state: TileEntry["state"]) => tiles.filter((t) => t.state === state).length;
  return {
    runId,
    region:
      liveRun?.status?.region || (recorded.success ? recorded.data.region : regionName(record.data.region)),
    regionSpec: record.data.region,
    year: record.data.year,
    model: record.data.model,
    workflowStatus: liveRun?.workflowStatus ?? "unknown",
    tilesFrom,
    tiles,
    progress: {
      done: count("done"),
      failed: count("failed"),
      running: count("running"),
      total: tiles.length,
    },
    ...(accuracy.success ? { accuracy: accuracy.data } : {}),
    hasMap: mapSize !== undefined || overviewSize !== undefined,
    hasReport: reportSize !== undefined,
  };
}
