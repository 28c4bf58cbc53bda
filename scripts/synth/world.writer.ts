import type { S3Client } from "@aws-sdk/client-s3";
import { stateCdlKey } from "../../lib/cdl/cdl.keys.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import { formatGranuleId, type GranuleId } from "../../lib/contracts/granule.id.ts";
import { formatS3Url } from "../../lib/core/s3.url.ts";
import { bandKey, cmrXmlKey, stacItemKey } from "../../lib/hls/lpdaac.keys.ts";
import type { Progress } from "../../lib/progress.ts";
import { CogContentType } from "../../lib/raster/cog.writer.ts";
import { deleteObject, getJson, objectSize, putBytes, putJson, ref } from "../../lib/storage/s3.objects.ts";
import { createTaskPool, type TaskPool } from "../../lib/threads/task.pool.ts";
import type { BandCog } from "./granule.encode.ts";
import { cmrXml, stacItem } from "./granule.records.ts";
import { granuleIdFor } from "./schedule.ts";
import type { GranuleCover, TileGround, TileWindow } from "./tile.render.ts";
import {
  type GranuleRecord,
  type WorldManifest,
  WorldManifestParser,
  worldManifestKey,
} from "./world.manifest.ts";
import type { PlannedTile, WorldPlan } from "./world.plan.ts";
import type { GranuleFiles, GranuleJob, GroundJob } from "./world.tasks.ts";

/** A different world already sits where this one would go. */
export class WorldConflictError extends Error {}

export interface WorldDeps {
  s3: S3Client;
  config: Config;
  /** Task threads rendering and encoding granules and labels; every core by default. */
  threads?: number;
}

const WorldTasks = new URL("./world.tasks.ts", import.meta.url);

interface Tally {
  objects: number;
  bytes: number;
  skipped: number;
}

/** Uploads a granule's COGs, then its records: the STAC item's presence marks the granule complete. */
export async function uploadGranule(
  deps: WorldDeps,
  id: GranuleId,
  window: TileWindow,
  cover: GranuleCover,
  cogs: BandCog[],
): Promise<void> {
  const hls = deps.config.storage.hls;
  await Promise.all(
    cogs.map(({ band, bytes }) =>
      putBytes(deps.s3, ref(hls, bandKey(id, band)), bytes, CogContentType, { unsignedPayload: true }),
    ),
  );
  // The record LP DAAC keeps (what the pipeline reads first), then the STAC item, written last.
  await putBytes(deps.s3, ref(hls, cmrXmlKey(id)), cmrXml(id, window, cover), "application/xml");
  await putJson(deps.s3, ref(hls, stacItemKey(id)), stacItem(id, window, cover));
}

/** What a tile's granules start from: their ids, the STAC items already there, its ground if one is missing. */
interface TileStart {
  ids: GranuleId[];
  existing: ({ properties: Record<string, number> } | undefined)[];
  ground?: Promise<TileGround>;
}

/**
 * Looks up a tile's finished granules and, where one is missing, asks a task thread for the tile's
 * ground: prepared there, this thread stays free to hand out and upload the granules before it.
 */
async function startTile(
  deps: WorldDeps,
  plan: WorldPlan,
  planned: PlannedTile,
  pool: TaskPool,
): Promise<TileStart> {
  const hls = deps.config.storage.hls;
  const ids = planned.acquisitions.map((a) =>
    granuleIdFor(planned.tile, plan.input.year, a, planned.centreLon),
  );
  const existing = (await Promise.all(
    ids.map((id) => getJson(deps.s3, ref(hls, stacItemKey(id)))),
  )) as TileStart["existing"];
  if (existing.every((found) => found !== undefined)) return { ids, existing };
  const job: GroundJob = { window: planned.window, postal: plan.postal, seed: plan.input.seed };
  const ground = pool.run<TileGround>("prepareGround", job);
  // Awaited with the tile's first missing granule; held here too, so that a run stopped before
  // then does not leave it unhandled.
  ground.catch(() => undefined);
  return { ids, existing, ground };
}

/**
 * Every tile's granules, rendered and encoded on the task threads while this thread uploads. Two
 * granules per thread are asked for ahead, and the next tile's ground is asked for once the
 * current tile's first granule is, so a thread prepares it while the other renders.
 */
async function writeTiles(
  deps: WorldDeps,
  plan: WorldPlan,
  pool: TaskPool,
  progress: Progress | undefined,
  tally: Tally,
): Promise<GranuleRecord[][]> {
  const records: (GranuleRecord | undefined)[][] = [];
  const inFlight: Promise<void>[] = [];
  let failure: unknown;
  const start = (t: number) => {
    const planned = plan.tiles[t];
    if (!planned) return undefined;
    const started = startTile(deps, plan, planned, pool);
    started.catch(() => undefined);
    return started;
  };
  let next = start(0);
  for (const [t, planned] of plan.tiles.entries()) {
    const tileRecords: (GranuleRecord | undefined)[] = [];
    records.push(tileRecords);
    const { ids, existing, ground } = (await next) as TileStart;
    let asked = false;
    const askNext = () => {
      if (!asked) next = start(t + 1);
      asked = true;
    };
    for (const [k, acquisition] of planned.acquisitions.entries()) {
      const id = ids[k] as GranuleId;
      const found = existing[k];
      if (found) {
        tileRecords[k] = {
          id: formatGranuleId(id),
          cloudCover: found.properties["eo:cloud_cover"] as number,
          spatialCoverage: found.properties["hls:spatial_coverage"] as number,
        };
        tally.skipped++;
        progress?.tick(1);
        continue;
      }
      const job: GranuleJob = { id, ground: await (ground as Promise<TileGround>), acquisition };
      const written = pool.run<GranuleFiles>("renderGranuleFiles", job).then(async (files) => {
        // A swath that misses the tile makes no granule, as in the real archive.
        if (files.cogs.length > 0) {
          await uploadGranule(deps, id, planned.window, files, files.cogs);
          tileRecords[k] = {
            id: formatGranuleId(id),
            cloudCover: files.cloudCover,
            spatialCoverage: files.spatialCoverage,
          };
          tally.objects += files.cogs.length + 2;
          tally.bytes += files.cogs.reduce((sum, c) => sum + c.bytes.length, 0);
        }
        progress?.tick(1, planned.tile.tileId);
      });
      askNext();
      // Held, not left unhandled: the first failure is thrown once the writes in flight settle.
      inFlight.push(
        written.catch((error) => {
          failure ??= error;
        }),
      );
      if (inFlight.length >= 2 * pool.size) await inFlight.shift();
      if (failure !== undefined) break;
    }
    askNext();
    if (failure !== undefined) break;
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  return records.map((r) => r.filter((g): g is GranuleRecord => g !== undefined));
}

/**
 * Writes a planned world to the configured S3: the CDL raster, every granule of every tile, and
 * last the manifest. Re-running skips what exists (granules are complete once their sidecar is
 * there), so an interrupted run resumes; a complete world with other parameters is refused.
 */
export async function writeWorld(
  plan: WorldPlan,
  deps: WorldDeps,
  progress?: Progress,
): Promise<{ manifest: WorldManifest; url: string; skipped: number }> {
  const { hls, cdl } = deps.config.storage;
  const manifestRef = ref(hls, worldManifestKey(plan.postal, plan.input.year));
  const url = formatS3Url(hls, worldManifestKey(plan.postal, plan.input.year));
  const conflict = (input: unknown) =>
    new WorldConflictError(
      `a synthetic world for ${plan.postal} ${plan.input.year} with other parameters (${JSON.stringify(input)}) is already at ${url}; remove it or point CROP_MAP_HLS_URL elsewhere`,
    );
  const previous = await getJson(deps.s3, manifestRef);
  if (previous !== undefined) {
    const manifest = WorldManifestParser.parse(previous);
    if (JSON.stringify(manifest.input) !== JSON.stringify(plan.input)) throw conflict(manifest.input);
    return { manifest, url, skipped: manifest.objects };
  }
  // An unfinished world's parameters, so a resumed run never mixes two worlds' objects.
  const pendingRef = ref(hls, `${worldManifestKey(plan.postal, plan.input.year)}.pending`);
  const pending = (await getJson(deps.s3, pendingRef)) as { input?: unknown } | undefined;
  if (pending && JSON.stringify(pending.input) !== JSON.stringify(plan.input)) throw conflict(pending.input);
  await putJson(deps.s3, pendingRef, { input: plan.input, startedAt: new Date().toISOString() });

  const tally: Tally = { objects: 0, bytes: 0, skipped: 0 };
  const cdlRef = ref(cdl, stateCdlKey(plan.input.year, plan.fips));
  const pool = createTaskPool(WorldTasks, deps.threads);
  // The labels are made on a task thread too, beside the first granules rather than before them.
  const labels = (async () => {
    if ((await objectSize(deps.s3, cdlRef)) === undefined) {
      const bytes = await pool.run<Uint8Array>("renderLabelFile", plan);
      await putBytes(deps.s3, cdlRef, bytes, CogContentType, { unsignedPayload: true });
      tally.objects++;
      tally.bytes += bytes.length;
    } else tally.skipped++;
    progress?.tick(1, "labels");
  })();
  const [granules] = await Promise.all([writeTiles(deps, plan, pool, progress, tally), labels]).finally(() =>
    pool.close(),
  );
  const tiles: WorldManifest["tiles"] = [];
  for (const [t, planned] of plan.tiles.entries()) {
    tiles.push({
      tileId: planned.tile.tileId,
      epsg: planned.window.epsg,
      origin: planned.window.origin,
      width: planned.window.width,
      height: planned.window.height,
      offset: planned.offset,
      granules: granules[t] as GranuleRecord[],
    });
  }
  const manifest: WorldManifest = {
    kind: "crop-map synthetic world",
    version: 1,
    input: plan.input,
    state: { postal: plan.postal, fips: plan.fips, name: plan.stateName },
    cdl: { url: formatS3Url(cdl, stateCdlKey(plan.input.year, plan.fips)), ...plan.cdl },
    tiles,
    objects: tally.objects + 1,
    bytes: tally.bytes,
    createdAt: new Date().toISOString(),
  };
  await putJson(deps.s3, manifestRef, manifest);
  await deleteObject(deps.s3, pendingRef);
  return { manifest, url, skipped: tally.skipped };
}
