/**
 * Task-thread side of the synthetic world (see lib/threads/task.pool.ts): granules and the label
 * raster rendered and encoded off the main thread, which only uploads. Each is a pure function of
 * the plan (a granule: of the tile's ground and its acquisition), so the bytes do not depend on
 * which thread made them.
 */
import type { GranuleId } from "../hls/granule.id.ts";
import { encodeCog } from "../raster/cog.writer.ts";
import { renderCdl } from "./cdl.render.ts";
import { type BandCog, encodeGranule } from "./granule.encode.ts";
import { createGround } from "./ground.ts";
import { profileForState } from "./profiles.ts";
import type { Acquisition } from "./schedule.ts";
import {
  type GranuleCover,
  type GranulePixels,
  granulePixels,
  renderGranule,
  type TileGround,
} from "./tile.render.ts";
import type { WorldPlan } from "./world.plan.ts";

export interface GranuleJob {
  id: GranuleId;
  /** On shared memory: read in place, not copied to the thread. */
  ground: TileGround;
  acquisition: Acquisition;
}

/** The granule's COGs, none when its swath misses the window (no granule, as in the real archive). */
export interface GranuleFiles extends GranuleCover {
  cogs: BandCog[];
}

/** This thread's granule arrays: one granule at a time is rendered and encoded on a thread. */
let pixels: GranulePixels | undefined;

export async function renderGranuleFiles({ id, ground, acquisition }: GranuleJob): Promise<GranuleFiles> {
  const n = ground.window.width * ground.window.height;
  if (pixels?.fmask.length !== n) pixels = granulePixels(n);
  const rendered = renderGranule(ground, acquisition, pixels);
  const cover = { cloudCover: rendered.cloudCover, spatialCoverage: rendered.spatialCoverage };
  if (rendered.spatialCoverage === 0) return { ...cover, cogs: [] };
  return { ...cover, cogs: await encodeGranule(id, ground.window, rendered, true) };
}

/** The CDL-like label COG of the world (`s3://<cdl>/<year>/CDL_<year>_<fips>.tif`). */
export async function renderLabelFile(plan: WorldPlan): Promise<Uint8Array> {
  const ground = createGround(profileForState(plan.postal), plan.input.seed);
  return encodeCog(renderCdl(plan, ground), {
    overviews: "nearest",
    metadata: { source: "crop-map synthetic world" },
    syncDeflate: true,
  });
}
