import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { heartbeat } from "@temporalio/activity";
import type { Config } from "../lib/config/config.schema.ts";
import type { TargetGrid } from "../lib/contracts/grid.contract.ts";
import { StackNodata } from "../lib/contracts/stack.header.ts";
import {
  type StagedTile,
  type StageTileInput,
  StageTileInputParser,
} from "../lib/contracts/stage.contract.ts";
import { transform } from "../lib/grid/crs.ts";
import { densify, ringBounds } from "../lib/grid/planar.ts";
import { createS3Archive, type HlsArchive } from "../lib/hls/hls.archive.ts";
import { readStackHeader } from "../lib/pipeline/stack.reader.ts";
import { encodeStack } from "../lib/pipeline/stack.writer.ts";
import type { Raster } from "../lib/raster/raster.types.ts";
import { objectSize, ref } from "../lib/storage/s3.objects.ts";
import { parseInput } from "./activity.failures.ts";
import { GranuleWarp } from "./granule.warp.ts";

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

/** A digest of what decides a staged tile's content. */
export function stagingDigest(input: StageTileInput): string {
  return createHash("sha256").update(JSON.stringify(input)).digest("hex").slice(0, 16);
}

/** A stable key from what decides the stack's content. */
export function stackKeyFor(input: StageTileInput): string {
  return `stacks/${input.year}/${input.tileId}/${stagingDigest(input)}.stack`;
}

export function createStageActivities(
  s3: S3Client,
  config: Config,
  archive: HlsArchive = createS3Archive(s3, config.storage.hls),
) {
  const { work } = config.storage;

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

      const warp = new GranuleWarp(archive, (fmask) =>
        targetGridFor(fmask, input.labelGrid, input.chip.size),
      );
      const planes: Int16Array[] = [];
      let validEverywhere: Uint8Array | undefined;
      for await (const { granuleId, bands } of warp.warpEach(input.granules)) {
        planes.push(...bands);
        const warped = planes[planes.length - 1] as Int16Array;
        if (!validEverywhere) validEverywhere = new Uint8Array(warped.length).fill(1);
        for (let i = 0; i < warped.length; i++) if (warped[i] === StackNodata) validEverywhere[i] = 0;
        heartbeat({ staged: granuleId });
      }
      const target = warp.grid as TargetGrid;
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
