import type { S3Client } from "@aws-sdk/client-s3";
import { heartbeat } from "@temporalio/activity";
import { z } from "zod";
import { metrics } from "../lib/accuracy/confusion.ts";
import { labelWindow } from "../lib/accuracy/label.window.ts";
import { ClassPalette, CropClasses } from "../lib/cdl/classes.ts";
import type { Config } from "../lib/config/config.schema.ts";
import { CdlEpsg, transform } from "../lib/grid/crs.ts";
import { densify, ringBounds } from "../lib/grid/planar.ts";
import { OutputPrefixParser } from "../lib/pipeline/run.input.ts";
import { openCog, readRaster } from "../lib/raster/cog.reader.ts";
import { CogContentType, encodeCog } from "../lib/raster/cog.writer.ts";
import { rasterizeRings } from "../lib/raster/rasterize.ts";
import { RegionSpecParser } from "../lib/region/region.spec.ts";
import { resolveRegion } from "../lib/region/region.ts";
import { clipGrid, createMosaic, pasteTile, rollUp, unionGrid } from "../lib/report/mosaic.ts";
import { disagreementQuicklook, mapQuicklook } from "../lib/report/quicklook.ts";
import { type ReportData, reportHtml, reportMarkdown } from "../lib/report/report.document.ts";
import { getJson, putBytes, putJson, ref } from "../lib/storage/s3.objects.ts";
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
      // The tiles' union cut down to the region's box: the map holds the region, not whole tiles.
      const grid = clipGrid(unionGrid(manifests.map((m) => m.grid)), ringBounds(rings.flat()));
      const inside = rasterizeRings(rings, grid);
      const mosaic = createMosaic(grid);
      for (const [index, m] of manifests.entries()) {
        const tilePrefix = `${prefix}tiles/${m.tileId}/`;
        const [classes, confidence] = await Promise.all(
          ["classes.tif", "confidence.tif"].map(async (name) =>
            readRaster(await openCog(s3, ref(outputs, `${tilePrefix}${name}`))),
          ),
        );
        pasteTile(
          mosaic,
          inside,
          index,
          classes as NonNullable<typeof classes>,
          confidence as NonNullable<typeof confidence>,
        );
        heartbeat({ pasted: m.tileId });
      }

      // Every label raster of the year that meets the map: state extracts are 0 outside their state.
      const labelGrid = await createLabelActivities(s3, config).labelGrid({ year: input.year });
      const {
        classes: labels,
        ignored,
        rasters: labelRasters,
      } = await labelWindow(s3, labelGrid.rasters, grid).catch((error: Error) => {
        throw nonRetryable("BadData", error.message);
      });
      const { run, perTile } = rollUp(mosaic, labels, inside, manifests.length, CropClasses.length);
      const runMetrics = metrics(run);

      const geo = { epsg: grid.epsg, origin: grid.origin, pixelSize: grid.pixelSize };
      const [mosaicCog, confidenceCog] = await Promise.all([
        encodeCog(
          { width: grid.width, height: grid.height, data: mosaic.classes, geo, nodata: 0 },
          { overviews: "nearest", colorMap: ClassPalette },
        ),
        encodeCog(
          { width: grid.width, height: grid.height, data: mosaic.confidence, geo, nodata: 255 },
          { overviews: "average" },
        ),
      ]);
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
      await putBytes(s3, ref(outputs, files.mosaic), mosaicCog, CogContentType);
      await putBytes(s3, ref(outputs, files.confidence), confidenceCog, CogContentType);

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
      await putJson(s3, ref(outputs, files.accuracyJson), {
        runId: input.runId,
        region: region.name,
        year: input.year,
        model: input.model,
        labels: labelRasters,
        aAcc: finite(runMetrics.aAcc),
        mIoU: finite(runMetrics.mIoU),
        mAcc: finite(runMetrics.mAcc),
        coverage: finite(runMetrics.coverage),
        labelledPixels: run.labelled,
        mappedPixels: run.mapped,
        ignoredCdlPixels: ignored,
        perClass,
        confusion: run.matrix,
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
        map: mapQuicklook(mosaic.classes, grid.width, grid.height, ClassPalette),
        disagreement: disagreementQuicklook(
          mosaic.classes,
          labels.map((l, i) => (inside[i] ? l : 0)),
          grid.width,
          grid.height,
        ),
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
        outputs: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, formatS3Url(outputs, v)])),
        buildSeconds: (Date.now() - started) / 1000,
      };
      await putBytes(s3, ref(outputs, files.reportMarkdown), reportMarkdown(data), "text/markdown");
      await putBytes(s3, ref(outputs, files.reportHtml), reportHtml(data, images), "text/html");
      return {
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
