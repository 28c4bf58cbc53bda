import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { heartbeat } from "@temporalio/activity";
import { z } from "zod";
import { type Confusion, metrics } from "../lib/accuracy/confusion.ts";
import { LabelRasterError } from "../lib/accuracy/label.window.ts";
import { ClassPalette, CropClasses } from "../lib/cdl/classes.ts";
import type { Config } from "../lib/config/config.schema.ts";
import { CdlEpsg, transform } from "../lib/grid/crs.ts";
import { gridBounds } from "../lib/grid/lattice.ts";
import { densify, ringBounds } from "../lib/grid/planar.ts";
import { OutputPrefixParser } from "../lib/pipeline/run.input.ts";
import { CogContentType } from "../lib/raster/cog.writer.ts";
import { UnsupportedCrsError } from "../lib/raster/geokeys.ts";
import { RegionSpecParser } from "../lib/region/region.spec.ts";
import { resolveRegion } from "../lib/region/region.ts";
import { statesMeeting } from "../lib/region/state.extent.ts";
import { familyComparison } from "../lib/report/family.comparison.ts";
import { mosaicInStrips } from "../lib/report/mosaic.strips.ts";
import { clipGrid, tilesOffGrid, unionGrid } from "../lib/report/mosaic.ts";
import { disagreementQuicklook, mapQuicklook } from "../lib/report/quicklook.ts";
import { type ReportData, reportHtml, reportMarkdown } from "../lib/report/report.document.ts";
import { fileDigest, writeRunCatalogue } from "../lib/stac/run.catalogue.ts";
import { getJson, putBytes, putFile, putJson, ref } from "../lib/storage/s3.objects.ts";
import { formatS3Url } from "../lib/storage/s3.url.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";
import { createLabelActivities } from "./labels.activities.ts";
import type { TileManifest } from "./tile.output.activities.ts";

export const BuildReportInputParser = z
  .object({
    runId: z.string().min(1),
    region: RegionSpecParser,
    year: z.number().int(),
    model: z.string(),
    outputPrefix: OutputPrefixParser,
    tiles: z.array(z.string()),
  })
  .strict();
export type BuildReportInput = z.input<typeof BuildReportInputParser>;

export interface RunReport {
  /** The run's STAC Collection (with an Item per tile map and one for the mosaic). */
  stac: string;
  mosaic: string;
  confidence: string;
  accuracyJson: string;
  accuracyCsv: string;
  reportHtml: string;
  reportMarkdown: string;
  aAcc: number | null;
  coverage: number | null;
}

const finite = (v: number) => (Number.isFinite(v) ? v : null);

export function createReportActivities(s3: S3Client, config: Config) {
  const { outputs } = config.storage;

  return {
    /**
     * The run's mosaic (clipped to the region; where tiles overlap the more confident prediction
     * wins), accuracy against the year's CDL for the run and per tile (each pixel counted once, in
     * the tile that owns it in the mosaic), and the report as Markdown and self-contained HTML.
     */
    async buildRunReport(raw: BuildReportInput): Promise<RunReport> {
      const started = Date.now();
      const input = parseInput(BuildReportInputParser, raw, "buildRunReport");
      const prefix = input.outputPrefix;
      const manifests = (
        await Promise.all(
          input.tiles.map(
            (t) =>
              getJson(s3, ref(outputs, `${prefix}tiles/${t}/manifest.json`)) as Promise<
                TileManifest | undefined
              >,
          ),
        )
      ).filter((m): m is TileManifest => m !== undefined);
      if (manifests.length === 0)
        throw nonRetryable(
          "BadInput",
          `run ${input.runId} has no finished tile under ${formatS3Url(outputs, prefix)}`,
        );

      const toAlbers = transform(4326, CdlEpsg);
      const region = resolveRegion(input.region);
      const rings = region.polygons.flatMap((polygon) =>
        polygon.map((ring) => densify(ring, 0.005).map((p) => toAlbers.forward(p))),
      );
      const offGrid = tilesOffGrid(manifests);
      if (offGrid) throw nonRetryable("BadData", `run ${input.runId}: ${offGrid}`);
      // The tiles' union cut down to the region's box: the map holds the region, not whole tiles.
      const grid = clipGrid(unionGrid(manifests.map((m) => m.grid)), ringBounds(rings.flat()));
      // Every label raster of the year that meets the map: state extracts are 0 outside their state.
      const labelGrid = await createLabelActivities(s3, config).labelGrid({ year: input.year });
      const states = input.region.kind === "state" ? [] : statesMeeting(gridBounds(grid));
      const built = await mosaicInStrips(s3, {
        grid,
        rings,
        tiles: manifests.map((m) => ({
          tileId: m.tileId,
          grid: m.grid,
          classes: ref(outputs, `${prefix}tiles/${m.tileId}/classes.tif`),
          confidence: ref(outputs, `${prefix}tiles/${m.tileId}/confidence.tif`),
        })),
        labels: labelGrid.rasters,
        states,
        tmpRoot: tmpdir(),
        onStrip: (done, rows) => heartbeat({ rows: done, of: rows }),
      }).catch((error: Error) => {
        if (error instanceof LabelRasterError || error instanceof UnsupportedCrsError)
          throw nonRetryable("BadData", error.message);
        throw error;
      });
      const { rollups, ignored, labelRasters, sampled } = built;
      const { run, perTile } = rollups;
      const runMetrics = metrics(run);

      const files = {
        mosaic: `${prefix}map.tif`,
        confidence: `${prefix}confidence.tif`,
        accuracyJson: `${prefix}accuracy.json`,
        accuracyCsv: `${prefix}accuracy.csv`,
        mapPng: `${prefix}map.png`,
        disagreementPng: `${prefix}disagreement.png`,
        reportMarkdown: `${prefix}report.md`,
        reportHtml: `${prefix}report.html`,
      };
      let mapDigests: { sha256: string; bytes: number }[];
      try {
        await putFile(s3, ref(outputs, files.mosaic), join(built.dir, "map.tif"), CogContentType);
        await putFile(s3, ref(outputs, files.confidence), join(built.dir, "confidence.tif"), CogContentType);
        mapDigests = await Promise.all(
          ["map.tif", "confidence.tif"].map((f) => fileDigest(join(built.dir, f))),
        );
      } finally {
        await rm(built.dir, { recursive: true, force: true });
      }
      const perState = states
        .map((state, i) => ({ state: state.name, confusion: rollups.perState[i] as Confusion }))
        .filter((s) => s.confusion.labelled > 0 || s.confusion.mapped > 0)
        .map((s) => ({ ...s, metrics: metrics(s.confusion) }));

      const perClass = runMetrics.perClass.map((c) => ({
        id: c.id,
        name: CropClasses.find((k) => k.id === c.id)?.name ?? "",
        iou: finite(c.iou),
        acc: finite(c.acc),
        pixels: c.pixels,
      }));
      const tileRows = manifests.map((m, i) => {
        const tm = metrics(perTile[i] as NonNullable<(typeof perTile)[number]>);
        return {
          tileId: m.tileId,
          aAcc: tm.aAcc,
          ownedPixels: perTile[i]?.mapped ?? 0,
          mappedShare: m.pixels.total ? m.pixels.mapped / m.pixels.total : Number.NaN,
          granules: m.granules.map((g) => g.id),
          skippedGranules: m.skipped?.count ?? 0,
          seconds: m.timings.selectSeconds + m.timings.stageSeconds + m.timings.predictSeconds,
        };
      });
      const accuracy = {
        runId: input.runId,
        region: region.name,
        year: input.year,
        model: input.model,
        aAcc: finite(runMetrics.aAcc),
        mIoU: finite(runMetrics.mIoU),
        mAcc: finite(runMetrics.mAcc),
        coverage: finite(runMetrics.coverage),
        perClass,
      };
      const families = await familyComparison(s3, outputs, accuracy);
      await putJson(s3, ref(outputs, files.accuracyJson), {
        ...accuracy,
        labels: labelRasters,
        labelledPixels: run.labelled,
        mappedPixels: run.mapped,
        ignoredCdlPixels: ignored,
        confusion: run.matrix,
        perState: perState.map((s) => ({
          state: s.state,
          aAcc: finite(s.metrics.aAcc),
          mIoU: finite(s.metrics.mIoU),
          coverage: finite(s.metrics.coverage),
          labelledPixels: s.confusion.labelled,
          mappedPixels: s.confusion.mapped,
          confusion: s.confusion.matrix,
        })),
        perTile: tileRows.map((t, i) => ({
          tileId: t.tileId,
          aAcc: finite(t.aAcc),
          ownedPixels: t.ownedPixels,
          confusion: perTile[i]?.matrix,
        })),
      });
      const csv = [
        "id,name,iou,acc,pixels",
        ...perClass.map(
          (c) => `${c.id},${c.name.replace(/,/g, " ")},${c.iou ?? ""},${c.acc ?? ""},${c.pixels}`,
        ),
      ];
      await putBytes(s3, ref(outputs, files.accuracyCsv), `${csv.join("\n")}\n`, "text/csv");

      const images = {
        map: mapQuicklook(sampled.classes, sampled.width, sampled.height, ClassPalette),
        disagreement: disagreementQuicklook(sampled.classes, sampled.labels, sampled.width, sampled.height),
      };
      await putBytes(s3, ref(outputs, files.mapPng), images.map, "image/png");
      await putBytes(s3, ref(outputs, files.disagreementPng), images.disagreement, "image/png");
      const data: ReportData = {
        runId: input.runId,
        region: region.name,
        year: input.year,
        model: input.model,
        labels:
          labelRasters.length > 0
            ? labelRasters.join(", ")
            : labelGrid.rasters.length > 0
              ? "none of the year's rasters meets the map"
              : "none published for the year",
        metrics: runMetrics,
        labelledPixels: run.labelled,
        mappedPixels: run.mapped,
        ignoredCdlPixels: ignored,
        tiles: tileRows,
        states: perState.map((s) => ({
          state: s.state,
          aAcc: s.metrics.aAcc,
          coverage: s.metrics.coverage,
          labelledPixels: s.confusion.labelled,
        })),
        outputs: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, formatS3Url(outputs, v)])),
        buildSeconds: (Date.now() - started) / 1000,
        families,
      };
      await putBytes(s3, ref(outputs, files.reportMarkdown), reportMarkdown(data), "text/markdown");
      await putBytes(s3, ref(outputs, files.reportHtml), reportHtml(data, images), "text/html");
      const windows = manifests.flatMap((m) => m.granules.map((g) => g.window));
      const stac = await writeRunCatalogue(s3, {
        outputs,
        hls: config.storage.hls,
        prefix,
        run: {
          runId: input.runId,
          region: region.name,
          year: input.year,
          start: `${input.year}-${windows.map((w) => w.start).sort()[0] ?? "01-01"}`,
          end: `${input.year}-${
            windows
              .map((w) => w.end)
              .sort()
              .at(-1) ?? "12-31"
          }`,
          model: { name: input.model, sha256: manifests[0]?.model?.sha256 ?? "" },
        },
        manifests,
        tileAAcc: tileRows.map((t) => finite(t.aAcc)),
        mosaic: {
          grid,
          accuracy: {
            aAcc: finite(runMetrics.aAcc),
            mIoU: finite(runMetrics.mIoU),
            coverage: finite(runMetrics.coverage),
          },
          classes: mapDigests[0] as { sha256: string; bytes: number },
          confidence: mapDigests[1] as { sha256: string; bytes: number },
        },
      });
      return {
        stac,
        mosaic: formatS3Url(outputs, files.mosaic),
        confidence: formatS3Url(outputs, files.confidence),
        accuracyJson: formatS3Url(outputs, files.accuracyJson),
        accuracyCsv: formatS3Url(outputs, files.accuracyCsv),
        reportHtml: formatS3Url(outputs, files.reportHtml),
        reportMarkdown: formatS3Url(outputs, files.reportMarkdown),
        aAcc: finite(runMetrics.aAcc),
        coverage: finite(runMetrics.coverage),
      };
    },
  };
}
