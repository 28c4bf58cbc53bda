import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { heartbeat } from "@temporalio/activity";
import { z } from "zod";
import type { Config } from "../lib/config/config.schema.ts";
import { transform } from "../lib/grid/crs.ts";
import { densify, ringBounds } from "../lib/grid/planar.ts";
import { TileIdParser } from "../lib/grid/tile.table.ts";
import { ArchiveAccessError, isTransientArchiveError } from "../lib/hls/archive.errors.ts";
import { parseGranuleId } from "../lib/hls/granule.id.ts";
import { createS3Archive, type HlsArchive } from "../lib/hls/hls.archive.ts";
import { bandKey, ModelBands } from "../lib/hls/lpdaac.keys.ts";
import { encodeStack, StackNodata } from "../lib/pipeline/stack.format.ts";
import { readStackHeader } from "../lib/pipeline/stack.reader.ts";
import type { MaskJob, WarpJob } from "../lib/pipeline/warp.tasks.ts";
import { planWarp, type TargetGrid, type WarpPlan } from "../lib/pipeline/warp.ts";
import { readRaster } from "../lib/raster/cog.reader.ts";
import { UnsupportedCrsError } from "../lib/raster/geokeys.ts";
import type { Raster } from "../lib/raster/raster.types.ts";
import { isNotFound, objectSize, ref } from "../lib/storage/s3.objects.ts";
import { createTaskPool, sharedArray, type TaskPool } from "../lib/threads/task.pool.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";

export const StageTileInputParser = z
  .object({
    tileId: TileIdParser,
    year: z.number().int(),
    /** Granule ids, one per season window, in date order. */
    granules: z.array(z.string()).min(1),
    labelGrid: z
      .object({
        epsg: z.number().int(),
        origin: z.tuple([z.number(), z.number()]),
        pixelSize: z.number().positive(),
      })
      .strict(),
    /** The model's window (a staged grid is never smaller) and stride (the stack's chunk size). */
    chip: z.object({ size: z.number().int().positive(), stride: z.number().int().positive() }).strict(),
  })
  .strict();
export type StageTileInput = z.infer<typeof StageTileInputParser>;

export interface StagedTile {
  /** Key of the stack in the work location (relative to its prefix). */
  stackKey: string;
  grid: TargetGrid;
  validPixels: number;
  bytes: number;
  seconds: number;
}

/** Masks and warps run on task threads, shared by every staging activity in the process. */
let stagePool: TaskPool | undefined;
function warpPool(): TaskPool {
  stagePool ??= createTaskPool(new URL("../lib/pipeline/warp.tasks.ts", import.meta.url));
  return stagePool;
}

/** The label-grid box over a granule's footprint, snapped outward and at least one chip wide. */
export function targetGridFor(source: Raster, label: StageTileInput["labelGrid"], chip: number): TargetGrid {
  const { origin, pixelSize } = source.geo;
  const x1 = origin[0] + source.width * pixelSize;
  const y1 = origin[1] - source.height * pixelSize;
  const outline = densify(
    [
      [origin[0], y1],
      [x1, y1],
      [x1, origin[1]],
      [origin[0], origin[1]],
    ],
    pixelSize * 16,
  );
  const t = transform(source.geo.epsg, label.epsg);
  const [minX, minY, maxX, maxY] = ringBounds(outline.map((p) => t.forward(p)));
  const p = label.pixelSize;
  const [ox, oy] = label.origin;
  let col0 = Math.floor((minX - ox) / p);
  let col1 = Math.ceil((maxX - ox) / p);
  let row0 = Math.floor((oy - maxY) / p);
  let row1 = Math.ceil((oy - minY) / p);
  if (col1 - col0 < chip) {
    const grow = chip - (col1 - col0);
    col0 -= Math.floor(grow / 2);
    col1 = col0 + chip;
  }
  if (row1 - row0 < chip) {
    const grow = chip - (row1 - row0);
    row0 -= Math.floor(grow / 2);
    row1 = row0 + chip;
  }
  return {
    epsg: label.epsg,
    origin: [ox + col0 * p, oy - row0 * p],
    pixelSize: p,
    width: col1 - col0,
    height: row1 - row0,
  };
}

/** A stable key from what decides the stack's content. */
export function stackKeyFor(input: StageTileInput): string {
  const digest = createHash("sha256").update(JSON.stringify(input)).digest("hex").slice(0, 16);
  return `stacks/${input.year}/${input.tileId}/${digest}.stack`;
}

export function createStageActivities(
  s3: S3Client,
  config: Config,
  archive: HlsArchive = createS3Archive(s3, config.storage.hls),
) {
  const { work } = config.storage;

  async function readBand(granuleId: string, band: string): Promise<Raster> {
    const key = bandKey(parseGranuleId(granuleId), band);
    const url = archive.url(key);
    try {
      return await readRaster(await archive.openCog(key), url);
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
  async function readGranule(granuleId: string): Promise<Raster[]> {
    const product = parseGranuleId(granuleId).product;
    const names = [...ModelBands[product], "Fmask"];
    const rasters = await Promise.all(names.map((band) => readBand(granuleId, band)));
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

  return {
    /**
     * Reads the chosen granules' six bands and Fmask with ranged GETs, masks cloud, adjacent cloud,
     * shadow and fill, warps each onto the label grid over the tile (bilinear for reflectance,
     * nearest for the mask, as the training chips were made) and writes one chunked stack.
     */
    async stageTile(raw: StageTileInput): Promise<StagedTile> {
      const started = Date.now();
      const input = parseInput(StageTileInputParser, raw, "stageTile");
      const stackKey = stackKeyFor(input);
      const stackRef = ref(work, stackKey);
      const existing = await objectSize(s3, stackRef);
      if (existing !== undefined) {
        const header = await readStackHeader(s3, stackRef);
        return {
          stackKey,
          grid: header.grid,
          validPixels: header.validPixels,
          bytes: existing,
          seconds: (Date.now() - started) / 1000,
        };
      }

      const pool = warpPool();
      let grid: TargetGrid | undefined;
      const plans = new Map<string, WarpPlan>();
      const planes: Int16Array[] = [];
      let validEverywhere: Uint8Array | undefined;
      // The next granule's GETs run while this one is masked and warped on the task threads.
      let next = readGranule(input.granules[0] as string);
      for (const [g, granuleId] of input.granules.entries()) {
        const rasters = await next;
        if (g + 1 < input.granules.length) {
          next = readGranule(input.granules[g + 1] as string);
          // Rethrown when awaited; held so a failure met first here is not an unhandled rejection.
          next.catch(() => undefined);
        }
        const fmask = rasters[6] as Raster;
        grid ??= targetGridFor(fmask, input.labelGrid, input.chip.size);
        const geometry = `${fmask.geo.epsg}:${fmask.geo.origin.join()}:${fmask.width}x${fmask.height}`;
        let plan = plans.get(geometry);
        if (!plan) {
          plan = planWarp({ ...fmask.geo, width: fmask.width, height: fmask.height }, grid);
          plans.set(geometry, plan);
        }
        const bands = rasters.slice(0, 6).map((r) => r.data as Int16Array);
        const valid = sharedArray(Uint8Array, fmask.width * fmask.height);
        const warpPlan = plan;
        const warped = bands.map(() => sharedArray(Int16Array, warpPlan.corner.length));
        // Shares of the pixels, a few per thread so a thread slowed by other work holds no one up.
        const shares = (n: number): [number, number][] => {
          const count = pool.size * 4;
          return Array.from({ length: count }, (_, k) => [
            Math.floor((k * n) / count),
            Math.floor(((k + 1) * n) / count),
          ]);
        };
        await Promise.all(
          shares(valid.length).map(([from, to]) =>
            pool.run<void>("maskValid", {
              bands,
              fmask: fmask.data as Uint8Array,
              valid,
              from,
              to,
            } satisfies MaskJob),
          ),
        );
        await Promise.all(
          shares(warpPlan.corner.length).map(([from, to]) =>
            pool.run<void>("warpRows", {
              plan: warpPlan,
              bands,
              valid,
              nodata: StackNodata,
              outs: warped,
              from,
              to,
            } satisfies WarpJob),
          ),
        );
        planes.push(...warped);
        const last = warped[warped.length - 1] as Int16Array;
        if (!validEverywhere) validEverywhere = new Uint8Array(last.length).fill(1);
        for (let i = 0; i < last.length; i++) if (last[i] === StackNodata) validEverywhere[i] = 0;
        heartbeat({ staged: granuleId });
      }
      const target = grid as TargetGrid;
      const validPixels = (validEverywhere ?? new Uint8Array()).reduce((n, v) => n + v, 0);
      const body = await encodeStack(planes, target, input.chip.stride, validPixels);
      await new Upload({
        client: s3,
        params: { Bucket: stackRef.bucket, Key: stackRef.key, Body: body },
        partSize: 16 << 20,
        queueSize: 2,
      }).done();
      return {
        stackKey,
        grid: target,
        validPixels,
        bytes: body.length,
        seconds: (Date.now() - started) / 1000,
      };
    },
  };
}
