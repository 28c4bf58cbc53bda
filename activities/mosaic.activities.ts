import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { heartbeat } from "@temporalio/activity";
import type { z } from "zod";
import { LabelRasterError } from "../lib/accuracy/label.window.ts";
import type { Config } from "../lib/config/config.schema.ts";
import { describeIssues } from "../lib/contracts/issue.lines.ts";
import type { RegionSpecParser } from "../lib/contracts/region.spec.ts";
import {
  BuildMosaicPartInputParser,
  type Confusion,
  type PartDone,
  type PartRollups,
  PartRollupsRecordParser,
  PlanReportInputParser,
  type ReportPlan,
} from "../lib/contracts/report.contract.ts";
import type { TileManifest } from "../lib/contracts/tile.contract.ts";
import { TileManifestRecordParser } from "../lib/contracts/tile.contract.ts";
import { formatS3Url } from "../lib/core/s3.url.ts";
import { type Ring, ringBounds } from "../lib/grid/planar.ts";
import { CogContentType } from "../lib/raster/cog.writer.ts";
import { UnsupportedCrsError } from "../lib/raster/geokeys.ts";
import { RegionError } from "../lib/region/region.ts";
import { partClip, planParts, regionRings } from "../lib/report/mosaic.parts.ts";
import { mosaicInStrips } from "../lib/report/mosaic.strips.ts";
import { clipGrid, tilesOffGrid, unionGrid } from "../lib/report/mosaic.ts";
import { fileDigest } from "../lib/stac/run.catalogue.ts";
import { getJson, putBytes, putFile, putJson, ref } from "../lib/storage/s3.objects.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";
import { createLabelActivities } from "./labels.activities.ts";

export function createMosaicActivities(s3: S3Client, config: Config) {
  const { outputs } = config.storage;

  async function manifestsOf(prefix: string, tiles: string[]): Promise<TileManifest[]> {
    const read = await Promise.all(
      tiles.map(async (t) => {
        const key = `${prefix}tiles/${t}/manifest.json`;
        const json = await getJson(s3, ref(outputs, key));
        if (json === undefined) return undefined;
        const parsed = TileManifestRecordParser.safeParse(json);
        if (!parsed.success) throw nonRetryable("BadData", `${key}: ${describeIssues(parsed.error, json)}`);
        // The checked fields are the ones read here; the rest is as this code wrote it.
        return parsed.data as unknown as TileManifest;
      }),
    );
    return read.filter((m): m is TileManifest => m !== undefined);
  }

  function ringsOf(region: z.infer<typeof RegionSpecParser>) {
    try {
      return regionRings(region);
    } catch (error) {
      if (error instanceof RegionError) throw nonRetryable("BadInput", error.message);
      throw error;
    }
  }

  return {
    /**
     * How the run's map is cut into parts mosaicked in parallel: one for a state run, one per state
     * for larger regions, and for a bbox or polygon one per cell of what lies outside every state
     * (lib/report/mosaic.parts.ts). Refuses a run without a finished tile and tile maps on different grids.
     */
    async planReport(raw: z.input<typeof PlanReportInputParser>): Promise<ReportPlan> {
      const input = parseInput(PlanReportInputParser, raw, "planReport");
      const manifests = await manifestsOf(input.outputPrefix, input.tiles);
      if (manifests.length === 0)
        throw nonRetryable(
          "BadInput",
          `run ${input.runId} has no finished tile under ${formatS3Url(outputs, input.outputPrefix)}`,
        );
      const offGrid = tilesOffGrid(manifests);
      if (offGrid) throw nonRetryable("BadData", `run ${input.runId}: ${offGrid}`);
      const rings = ringsOf(input.region);
      // The tiles' union cut down to the region's box: the map holds the region, not whole tiles.
      const grid = clipGrid(unionGrid(manifests.map((m) => m.grid)), ringBounds(rings.flat()));
      return planParts(input.region, grid, manifests, input.outputPrefix);
    },

    /**
     * One part's classes and confidence COGs (overviews, colour table), its accuracy rollups and
     * its sample, under the part's prefix. A part whose `rollups.json` carries the digest of the
     * same inputs (tile manifests, label rasters, grid, clip) is done and is not made again.
     */
    async buildMosaicPart(raw: z.input<typeof BuildMosaicPartInputParser>): Promise<PartDone> {
      const started = Date.now();
      const input = parseInput(BuildMosaicPartInputParser, raw, "buildMosaicPart");
      const { part } = input;
      const manifests = await manifestsOf(input.outputPrefix, part.tiles);
      if (manifests.length !== part.tiles.length)
        throw nonRetryable(
          "BadInput",
          `part ${part.id} of run ${input.runId}: a tile has no manifest any more`,
        );
      const labelGrid = await createLabelActivities(s3, config).labelGrid({ year: input.year });
      const digest = createHash("sha256")
        .update(
          JSON.stringify({
            region: input.region,
            year: input.year,
            sampleStep: input.sampleStep,
            part,
            manifests,
            labels: labelGrid.rasters.map((r) => [r.bucket, r.key]),
            // The COGs' bytes follow the level: a part made at another level is made again.
            deflateLevel: config.mosaic.deflateLevel,
          }),
        )
        .digest("hex");
      const rollupsKey = `${part.prefix}rollups.json`;
      // A rollups.json that does not parse is not a finished part: the part is made again.
      const done = PartRollupsRecordParser.safeParse(await getJson(s3, ref(outputs, rollupsKey))).data;
      if (done?.digest === digest)
        return { id: part.id, rollups: rollupsKey, reused: true, seconds: (Date.now() - started) / 1000 };

      const clip = partClip(part);
      // A region made of whole states holds each of them: the state's outline alone clips its part
      // (rasterising all of CONUS's outline for every row of every state would cost more than the map).
      const whole = input.region.kind === "states" && clip;
      const built = await mosaicInStrips(s3, {
        grid: part.grid,
        rings: whole ? (clip.within as Ring[]) : ringsOf(input.region),
        ...(clip ? { clip: whole ? { without: clip.without } : clip } : {}),
        tiles: manifests.map((m) => ({
          tileId: m.tileId,
          grid: m.grid,
          classes: ref(outputs, `${input.outputPrefix}tiles/${m.tileId}/classes.tif`),
          confidence: ref(outputs, `${input.outputPrefix}tiles/${m.tileId}/confidence.tif`),
        })),
        labels: labelGrid.rasters,
        states: [],
        sampleStep: input.sampleStep,
        tmpRoot: tmpdir(),
        deflateLevel: config.mosaic.deflateLevel,
        onStrip: (rows, of) => heartbeat({ part: part.id, rows, of }),
      }).catch((error: Error) => {
        if (error instanceof LabelRasterError || error instanceof UnsupportedCrsError)
          throw nonRetryable("BadData", error.message);
        throw error;
      });
      const files = {
        classes: `${part.prefix}map.tif`,
        confidence: `${part.prefix}confidence.tif`,
        sample: `${part.prefix}sample.bin`,
      };
      let digests: { sha256: string; bytes: number }[];
      try {
        await putFile(s3, ref(outputs, files.classes), join(built.dir, "map.tif"), CogContentType);
        await putFile(s3, ref(outputs, files.confidence), join(built.dir, "confidence.tif"), CogContentType);
        digests = await Promise.all(["map.tif", "confidence.tif"].map((f) => fileDigest(join(built.dir, f))));
      } finally {
        await rm(built.dir, { recursive: true, force: true });
      }
      const { sampled } = built;
      await putBytes(
        s3,
        ref(outputs, files.sample),
        Buffer.concat([sampled.classes, sampled.confidence, sampled.labels]),
        "application/octet-stream",
      );
      const seconds = (Date.now() - started) / 1000;
      const rollups: PartRollups = {
        digest,
        part,
        run: built.rollups.run,
        perTile: manifests.map((m, i) => ({
          tileId: m.tileId,
          confusion: built.rollups.perTile[i] as Confusion,
        })),
        ignored: built.ignored,
        labelRasters: built.labelRasters,
        files: {
          classes: { key: files.classes, ...(digests[0] as { sha256: string; bytes: number }) },
          confidence: { key: files.confidence, ...(digests[1] as { sha256: string; bytes: number }) },
          sample: { key: files.sample, width: sampled.width, height: sampled.height, step: sampled.step },
        },
        seconds,
      };
      await putJson(s3, ref(outputs, rollupsKey), rollups);
      return { id: part.id, rollups: rollupsKey, reused: false, seconds };
    },
  };
}

/** The classes, confidence and region labels of a part's sample, as `sample.bin` holds them. */
export function splitSample(bytes: Uint8Array, width: number, height: number) {
  const n = width * height;
  return {
    classes: bytes.subarray(0, n),
    confidence: bytes.subarray(n, 2 * n),
    labels: bytes.subarray(2 * n, 3 * n),
  };
}
