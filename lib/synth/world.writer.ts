import type { S3Client } from "@aws-sdk/client-s3";
import { stateCdlKey } from "../cdl/cdl.keys.ts";
import type { Config } from "../config/config.schema.ts";
import { HlsFill, HlsScale } from "../hls/fmask.ts";
import { formatGranuleId, type GranuleId } from "../hls/granule.id.ts";
import { bandKey, cmrXmlKey, ModelBands, stacItemKey } from "../hls/lpdaac.keys.ts";
import type { Progress } from "../progress.ts";
import { CogContentType, encodeCog } from "../raster/cog.writer.ts";
import { deleteObject, getJson, objectSize, putBytes, putJson, ref } from "../storage/s3.objects.ts";
import { formatS3Url } from "../storage/s3.url.ts";
import { renderCdl } from "./cdl.render.ts";
import { cmrXml, stacItem } from "./granule.records.ts";
import { createGround, type Ground } from "./ground.ts";
import { profileForState } from "./profiles.ts";
import { granuleIdFor } from "./schedule.ts";
import { prepareTileGround, type RenderedGranule, renderGranule, type TileWindow } from "./tile.render.ts";
import {
  type GranuleRecord,
  type WorldManifest,
  WorldManifestParser,
  worldManifestKey,
} from "./world.manifest.ts";
import type { PlannedTile, WorldPlan } from "./world.plan.ts";

/** A different world already sits where this one would go. */
export class WorldConflictError extends Error {}

export interface WorldDeps {
  s3: S3Client;
  config: Config;
}

interface Tally {
  objects: number;
  bytes: number;
  skipped: number;
}

/** The seven COGs of a granule: six bands and Fmask. */
export async function encodeGranule(
  id: GranuleId,
  window: TileWindow,
  rendered: RenderedGranule,
): Promise<{ band: string; bytes: Buffer }[]> {
  const geo = { epsg: window.epsg, origin: window.origin, pixelSize: window.pixelSize };
  const metadata = { scale_factor: String(HlsScale), add_offset: "0", _FillValue: String(HlsFill) };
  // Level 1: on noisy reflectance it is 10x faster than the default for 10 % more bytes.
  return Promise.all([
    ...ModelBands[id.product].map((band, b) =>
      encodeCog(
        {
          width: window.width,
          height: window.height,
          data: rendered.bands[b] as Int16Array,
          geo,
          nodata: HlsFill,
        },
        { metadata: { ...metadata, long_name: band }, scale: HlsScale, offset: 0, deflateLevel: 1 },
      ).then((bytes) => ({ band: band as string, bytes })),
    ),
    encodeCog(
      { width: window.width, height: window.height, data: rendered.fmask, geo, nodata: 255 },
      { metadata: { long_name: "Fmask" }, deflateLevel: 1 },
    ).then((bytes) => ({ band: "Fmask", bytes })),
  ]);
}

/** Uploads a granule's COGs, then its records: the STAC item's presence marks the granule complete. */
export async function uploadGranule(
  deps: WorldDeps,
  id: GranuleId,
  window: TileWindow,
  rendered: RenderedGranule,
  cogs: { band: string; bytes: Buffer }[],
): Promise<void> {
  const hls = deps.config.storage.hls;
  await Promise.all(
    cogs.map(({ band, bytes }) => putBytes(deps.s3, ref(hls, bandKey(id, band)), bytes, CogContentType)),
  );
  // The record LP DAAC keeps (what the pipeline reads first), then the STAC item, written last.
  await putBytes(deps.s3, ref(hls, cmrXmlKey(id)), cmrXml(id, window, rendered), "application/xml");
  await putJson(deps.s3, ref(hls, stacItemKey(id)), stacItem(id, window, rendered));
}

async function writeGranule(
  deps: WorldDeps,
  id: GranuleId,
  window: TileWindow,
  rendered: RenderedGranule,
  tally: Tally,
) {
  const cogs = await encodeGranule(id, window, rendered);
  await uploadGranule(deps, id, window, rendered, cogs);
  tally.objects += cogs.length + 2;
  tally.bytes += cogs.reduce((sum, c) => sum + c.bytes.length, 0);
}

async function writeTile(
  deps: WorldDeps,
  plan: WorldPlan,
  planned: PlannedTile,
  ground: Ground,
  progress: Progress | undefined,
  tally: Tally,
) {
  const hls = deps.config.storage.hls;
  const records: GranuleRecord[] = [];
  const ids = planned.acquisitions.map((a) =>
    granuleIdFor(planned.tile, plan.input.year, a, planned.centreLon),
  );
  const existing = await Promise.all(ids.map((id) => getJson(deps.s3, ref(hls, stacItemKey(id)))));
  const prepared = existing.every((e) => e !== undefined)
    ? undefined
    : prepareTileGround(planned.window, ground);
  const pending: Promise<void>[] = [];
  for (const [k, acquisition] of planned.acquisitions.entries()) {
    const id = ids[k] as GranuleId;
    const found = existing[k] as { properties: Record<string, number> } | undefined;
    if (found) {
      records.push({
        id: formatGranuleId(id),
        cloudCover: found.properties["eo:cloud_cover"] as number,
        spatialCoverage: found.properties["hls:spatial_coverage"] as number,
      });
      tally.skipped++;
      progress?.tick(1);
      continue;
    }
    const rendered = renderGranule(prepared as NonNullable<typeof prepared>, acquisition);
    // A swath that misses the tile makes no granule, as in the real archive.
    if (rendered.spatialCoverage === 0) {
      progress?.tick(1);
      continue;
    }
    records.push({
      id: formatGranuleId(id),
      cloudCover: rendered.cloudCover,
      spatialCoverage: rendered.spatialCoverage,
    });
    // Render the next granule while this one compresses and uploads; at most two in flight.
    pending.push(
      writeGranule(deps, id, planned.window, rendered, tally).then(() =>
        progress?.tick(1, planned.tile.tileId),
      ),
    );
    if (pending.length >= 2) await pending.shift();
  }
  await Promise.all(pending);
  return records;
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

  const ground = createGround(profileForState(plan.postal), plan.input.seed);
  const tally: Tally = { objects: 0, bytes: 0, skipped: 0 };
  const cdlRef = ref(cdl, stateCdlKey(plan.input.year, plan.fips));
  if ((await objectSize(deps.s3, cdlRef)) === undefined) {
    const labels = renderCdl(plan, ground);
    const bytes = await encodeCog(labels, {
      overviews: "nearest",
      metadata: { source: "crop-map synthetic world" },
    });
    await putBytes(deps.s3, cdlRef, bytes, CogContentType);
    tally.objects++;
    tally.bytes += bytes.length;
  } else tally.skipped++;
  progress?.tick(1, "labels");

  const tiles: WorldManifest["tiles"] = [];
  for (const planned of plan.tiles) {
    const granules = await writeTile(deps, plan, planned, ground, progress, tally);
    tiles.push({
      tileId: planned.tile.tileId,
      epsg: planned.window.epsg,
      origin: planned.window.origin,
      width: planned.window.width,
      height: planned.window.height,
      offset: planned.offset,
      granules,
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
