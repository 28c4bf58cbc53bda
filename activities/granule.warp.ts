import { ArchiveAccessError, isTransientArchiveError } from "../lib/hls/archive.errors.ts";
import { FmaskBit, FmaskFill, HlsFill } from "../lib/hls/fmask.ts";
import { parseGranuleId } from "../lib/hls/granule.id.ts";
import type { HlsArchive } from "../lib/hls/hls.archive.ts";
import { bandKey, ModelBands } from "../lib/hls/lpdaac.keys.ts";
import { StackNodata } from "../lib/pipeline/stack.format.ts";
import { planWarp, type TargetGrid, type WarpPlan, warpBand } from "../lib/pipeline/warp.ts";
import { readRaster } from "../lib/raster/cog.reader.ts";
import { UnsupportedCrsError } from "../lib/raster/geokeys.ts";
import type { Raster } from "../lib/raster/raster.types.ts";
import { isNotFound } from "../lib/storage/s3.objects.ts";
import { nonRetryable } from "./activity.failures.ts";

/** Pixels that are clear, inside the swath and valid in every band. */
const Unusable = FmaskBit.Cloud | FmaskBit.Adjacent | FmaskBit.Shadow;

/**
 * Reads granules' six model bands and Fmask with ranged GETs, masks cloud, adjacent cloud, shadow
 * and fill per pixel, and warps them onto one label-grid box (bilinear for reflectance, nearest
 * for the mask, as the training chips were made). The first granule fixes the box (`gridFor` its
 * Fmask); warp plans are reused for every granule on the same source grid.
 */
export class GranuleWarp {
  grid: TargetGrid | undefined;
  private readonly plans = new Map<string, WarpPlan>();

  constructor(
    private readonly archive: HlsArchive,
    private readonly gridFor: (fmask: Raster) => TargetGrid,
  ) {}

  private async readBand(granuleId: string, band: string): Promise<Raster> {
    const key = bandKey(parseGranuleId(granuleId), band);
    const url = this.archive.url(key);
    try {
      return await readRaster(await this.archive.openCog(key), url);
    } catch (error) {
      if (isNotFound(error))
        throw nonRetryable("BadData", `granule ${granuleId}: band ${band} is missing (${url})`);
      // Retried, or refused for good by the tile's retry policy: not a fault of the file.
      if (isTransientArchiveError(error) || error instanceof ArchiveAccessError) throw error;
      if (error instanceof UnsupportedCrsError)
        throw nonRetryable("BadData", `granule ${granuleId}: ${error.message}`);
      throw nonRetryable(
        "BadData",
        `granule ${granuleId}: ${url} is not a readable COG: ${(error as Error).message}`,
      );
    }
  }

  /** The granule's six bands on the box, StackNodata where the pixel is not clear. */
  async warp(granuleId: string): Promise<Int16Array[]> {
    const product = parseGranuleId(granuleId).product;
    const names = [...ModelBands[product], "Fmask"];
    const rasters = await Promise.all(names.map((band) => this.readBand(granuleId, band)));
    const fmask = rasters[6] as Raster;
    for (const [i, r] of rasters.entries()) {
      if (
        r.width !== fmask.width ||
        r.height !== fmask.height ||
        r.geo.origin.join() !== fmask.geo.origin.join() ||
        r.geo.epsg !== fmask.geo.epsg
      ) {
        throw nonRetryable(
          "BadData",
          `granule ${granuleId}: band ${names[i]} is not on the same grid as its Fmask`,
        );
      }
    }
    this.grid ??= this.gridFor(fmask);
    const geometry = `${fmask.geo.epsg}:${fmask.geo.origin.join()}:${fmask.width}x${fmask.height}`;
    let plan = this.plans.get(geometry);
    if (!plan) {
      plan = planWarp({ ...fmask.geo, width: fmask.width, height: fmask.height }, this.grid);
      this.plans.set(geometry, plan);
    }
    const valid = new Uint8Array(fmask.width * fmask.height);
    const mask = fmask.data as Uint8Array;
    for (let i = 0; i < valid.length; i++) {
      const m = mask[i] as number;
      let ok = m !== FmaskFill && (m & Unusable) === 0;
      for (let b = 0; ok && b < 6; b++) ok = ((rasters[b] as Raster).data[i] as number) !== HlsFill;
      valid[i] = ok ? 1 : 0;
    }
    const planes: Int16Array[] = [];
    for (let b = 0; b < 6; b++)
      planes.push(warpBand(plan, (rasters[b] as Raster).data as Int16Array, valid, StackNodata));
    return planes;
  }
}
