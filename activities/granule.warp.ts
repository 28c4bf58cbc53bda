import { parseGranuleId } from "../lib/contracts/granule.id.ts";
import type { TargetGrid } from "../lib/contracts/grid.contract.ts";
import { StackNodata } from "../lib/contracts/stack.header.ts";
import { ArchiveAccessError, isTransientArchiveError } from "../lib/errors/archive.errors.ts";
import { FmaskFill, HlsFill } from "../lib/hls/fmask.ts";
import type { HlsArchive } from "../lib/hls/hls.archive.ts";
import { bandKey, ModelBands } from "../lib/hls/lpdaac.keys.ts";
import { shares, stagePool } from "../lib/pipeline/stage.pool.ts";
import type { MaskJob, NearestJob, PlanJob, WarpJob } from "../lib/pipeline/stage.tasks.ts";
import { emptyPlan, type WarpPlan } from "../lib/pipeline/warp.ts";
import { readRaster } from "../lib/raster/cog.reader.ts";
import { UnsupportedCrsError } from "../lib/raster/geokeys.ts";
import type { Raster } from "../lib/raster/raster.types.ts";
import { isNotFound } from "../lib/storage/s3.objects.ts";
import { sharedArray } from "../lib/threads/task.pool.ts";
import { nonRetryable } from "./activity.failures.ts";

/**
 * Reads granules' six model bands and Fmask with ranged GETs, masks cloud, adjacent cloud, shadow
 * and fill per pixel, and warps them onto one label-grid box (bilinear for reflectance, nearest
 * for the mask, as the training chips were made). The first granule fixes the box (`gridFor` its
 * Fmask); warp plans are reused for every granule on the same source grid. Masks and warps run on
 * task threads, a share of the pixels each, while the next granule's GETs run.
 *
 * Mode `chips` is the training chips' staging: cloud is not masked (only the reflectance fill
 * -9999 is invalid, and stays -9999), and each granule's Fmask comes too, warped by nearest
 * neighbour (255 outside the granule), for the chips' own QA rule. Mode `clear` is the run's.
 */
export type WarpMode = "clear" | "chips";

/** One granule on the box: its six bands, and in mode `chips` its Fmask. */
export interface WarpedGranule {
  granuleId: string;
  bands: Int16Array[];
  fmask?: Uint8Array;
}

export class GranuleWarp {
  grid: TargetGrid | undefined;
  /** By source geometry; a promise, so granules on one grid wait for one plan. */
  private readonly plans = new Map<string, Promise<WarpPlan>>();

  constructor(
    private readonly archive: HlsArchive,
    private readonly gridFor: (fmask: Raster) => TargetGrid,
    private readonly mode: WarpMode = "clear",
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

  /** A granule's six model bands and Fmask (last), refused unless all are on one grid. */
  private async read(granuleId: string): Promise<Raster[]> {
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
    return rasters;
  }

  /**
   * Each granule's six bands on the box, StackNodata where the pixel is not clear (in mode `chips`:
   * HlsFill where not valid, with the Fmask), in the order given; the next granule is read while
   * one is masked and warped.
   */
  async *warpEach(granuleIds: readonly string[]): AsyncGenerator<WarpedGranule> {
    if (granuleIds.length === 0) return;
    let next = this.read(granuleIds[0] as string);
    for (const [g, granuleId] of granuleIds.entries()) {
      const rasters = await next;
      if (g + 1 < granuleIds.length) {
        next = this.read(granuleIds[g + 1] as string);
        // Rethrown when awaited; held so a failure met first here is not an unhandled rejection.
        next.catch(() => undefined);
      }
      yield { granuleId, ...(await this.warpRasters(rasters)) };
    }
  }

  private async warpRasters(rasters: Raster[]): Promise<Omit<WarpedGranule, "granuleId">> {
    const pool = stagePool();
    const fmask = rasters[6] as Raster;
    this.grid ??= this.gridFor(fmask);
    const grid = this.grid;
    const geometry = `${fmask.geo.epsg}:${fmask.geo.origin.join()}:${fmask.width}x${fmask.height}`;
    let planned = this.plans.get(geometry);
    if (!planned) {
      const plan = emptyPlan({ ...fmask.geo, width: fmask.width, height: fmask.height }, grid);
      planned = Promise.all(
        shares(grid.height, pool.size).map(([from, to]) =>
          pool.run<void>("planShare", { plan, from, to } satisfies PlanJob),
        ),
      ).then(() => plan);
      this.plans.set(geometry, planned);
    }
    const bands = rasters.slice(0, 6).map((r) => r.data as Int16Array);
    const valid = sharedArray(Uint8Array, fmask.width * fmask.height);
    const masked = Promise.all(
      shares(valid.length, pool.size).map(([from, to]) =>
        pool.run<void>(this.mode === "chips" ? "maskFill" : "maskValid", {
          bands,
          fmask: fmask.data as Uint8Array,
          valid,
          from,
          to,
        } satisfies MaskJob),
      ),
    );
    const [warpPlan] = await Promise.all([planned, masked]);
    const warped = bands.map(() => sharedArray(Int16Array, warpPlan.corner.length));
    await Promise.all(
      shares(warpPlan.corner.length, pool.size).map(([from, to]) =>
        pool.run<void>("warpRows", {
          plan: warpPlan,
          bands,
          valid,
          nodata: this.mode === "chips" ? HlsFill : StackNodata,
          outs: warped,
          from,
          to,
        } satisfies WarpJob),
      ),
    );
    if (this.mode !== "chips") return { bands: warped };
    const warpedFmask = sharedArray(Uint8Array, warpPlan.corner.length);
    await Promise.all(
      shares(warpPlan.corner.length, pool.size).map(([from, to]) =>
        pool.run<void>("nearestRows", {
          plan: warpPlan,
          source: fmask.data as Uint8Array,
          out: warpedFmask,
          outside: FmaskFill,
          from,
          to,
        } satisfies NearestJob),
      ),
    );
    return { bands: warped, fmask: warpedFmask };
  }
}
