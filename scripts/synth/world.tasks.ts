/**
 * Task-thread side of the synthetic world (see lib/threads/task.pool.ts): tiles' grounds, granules
 * and the label raster made off the main thread, which only hands out work and uploads. Each is a
 * pure function of the plan (a granule: of the tile's ground and its acquisition), so the bytes do
 * not depend on which thread made them.
 */
import type { GranuleId } from "../../lib/contracts/granule.id.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import { renderCdl } from "./cdl.render.ts";
import { type BandCog, encodeGranule } from "./granule.encode.ts";
import { createGround, type Ground } from "./ground.ts";
import { profileForState } from "./profiles.ts";
import type { Acquisition } from "./schedule.ts";
import {
  type GranuleCover,
  type GranulePixels,
  granulePixels,
  prepareTileGround,
  renderGranule,
  type TileGround,
  type TileWindow,
} from "./tile.render.ts";
import type { WorldPlan } from "./world.plan.ts";

export interface GranuleJob {
  id: GranuleId;
  /** On shared memory: read in place, not copied to the thread. */
  ground: TileGround;
  acquisition: Acquisition;
}

export interface GroundJob {
  window: TileWindow;
  postal: string;
  seed: number;
}

/** This thread's grounds, by state and seed: a world asks for one ground per tile, all the same. */
const grounds = new Map<string, Ground>();

function groundOf(postal: string, seed: number): Ground {
  const key = `${postal} ${seed}`;
  let ground = grounds.get(key);
  if (!ground) {
    ground = createGround(profileForState(postal), seed);
    grounds.set(key, ground);
  }
  return ground;
}

/** A tile's ground, on shared memory: the threads that render its granules read it in place. */
export function prepareGround({ window, postal, seed }: GroundJob): TileGround {
  return prepareTileGround(window, groundOf(postal, seed));
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
  return encodeCog(renderCdl(plan, groundOf(plan.postal, plan.input.seed)), {
    overviews: "nearest",
    metadata: { source: "crop-map synthetic world" },
    syncDeflate: true,
  });
}
