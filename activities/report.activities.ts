import type { S3Client } from "@aws-sdk/client-s3";
import type { z } from "zod";
import { classAreas } from "../lib/accuracy/class.areas.ts";
import { addConfusion, emptyConfusion, metrics } from "../lib/accuracy/confusion.ts";
import { ClassPalette, CropClasses } from "../lib/cdl/classes.ts";
import type { Config } from "../lib/config/config.schema.ts";
import { describeIssues } from "../lib/contracts/issue.lines.ts";
import {
  AssembleReportInputParser,
  type Confusion,
  type PartRollups,
  PartRollupsRecordParser,
  type RunReport,
} from "../lib/contracts/report.contract.ts";
import type { TileManifest } from "../lib/contracts/tile.contract.ts";
import { formatS3Url } from "../lib/core/s3.url.ts";
import { resolveRegion } from "../lib/region/region.ts";
import { familyComparison } from "../lib/report/family.comparison.ts";
import { disagreementQuicklook, mapQuicklook } from "../lib/report/quicklook.ts";
import { composeSamples } from "../lib/report/regional.sample.ts";
import { type ReportData, reportHtml, reportMarkdown } from "../lib/report/report.document.ts";
import { writeRunCatalogue } from "../lib/stac/run.catalogue.ts";
import { getBytes, getJson, putBytes, ref } from "../lib/storage/s3.objects.ts";
import { writeAccuracyFiles } from "./accuracy.files.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";
import { createLabelActivities } from "./labels.activities.ts";
import { splitSample } from "./mosaic.activities.ts";
import { writeRegionalProducts } from "./regional.products.ts";

const finite = (v: number) => (Number.isFinite(v) ? v : null);
/** The per-state table's row for what a bbox or polygon maps outside every state (CDL is background there). */
const OutsideRow = "Outside the states";

export function createReportActivities(s3: S3Client, config: Config) {
  const { outputs } = config.storage;

  return {
    /**
     * The run's report from its parts' mosaics: accuracy for the run (the parts' matrices summed:
     * each pixel belongs to one part), per state and per tile (each pixel counted once, in the tile
     * that owns it), the quicklooks, Markdown and self-contained HTML, and the STAC catalogue. A run
     * mosaicked by state also gets a GDAL VRT over the state COGs and a coarse regional overview COG,
     * made from the parts' samples, so no step holds the region at full resolution.
     */
    async assembleRunReport(raw: z.input<typeof AssembleReportInputParser>): Promise<RunReport> {
      const started = Date.now();
      const input = parseInput(AssembleReportInputParser, raw, "assembleRunReport");
      const { plan } = input;
      const prefix = input.outputPrefix;
      const region = resolveRegion(input.region);
      const byState = !(plan.parts.length === 1 && plan.parts[0]?.id === "region");
      const parts = await Promise.all(
        plan.parts.map(async (part) => {
          const rollupsKey = `${part.prefix}rollups.json`;
          const json = await getJson(s3, ref(outputs, rollupsKey));
          if (json === undefined)
            throw nonRetryable("BadInput", `run ${input.runId}: part ${part.id} has no rollups.json`);
          const parsed = PartRollupsRecordParser.safeParse(json);
          if (!parsed.success)
            throw nonRetryable("BadData", `${rollupsKey}: ${describeIssues(parsed.error, json)}`);
          const rollups = parsed.data;
          const { width, height, key } = rollups.files.sample;
          return {
            part,
            rollups,
            sample: { width, height, ...splitSample(await getBytes(s3, ref(outputs, key)), width, height) },
          };
        }),
      );
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

      const classes = CropClasses.length;
      const run = emptyConfusion(classes);
      const perTile = new Map(manifests.map((m) => [m.tileId, emptyConfusion(classes)]));
      for (const { rollups } of parts) {
        addConfusion(run, rollups.run);
        for (const t of rollups.perTile) addConfusion(perTile.get(t.tileId) as Confusion, t.confusion);
      }
      const runMetrics = metrics(run);
      const ignored = parts.reduce((n, p) => n + p.rollups.ignored, 0);
      const labelRasters = [...new Set(parts.flatMap((p) => p.rollups.labelRasters))].sort();
      // What a bbox or polygon holds outside every state is one row, named as such, after the states.
      const outside = parts.filter((p) => p.part.outside);
      const outsideRun = emptyConfusion(classes);
      for (const { rollups } of outside) addConfusion(outsideRun, rollups.run);
      const perState = byState
        ? [
            ...parts
              .filter((p) => !p.part.outside)
              .map((p) => ({ id: p.part.id, state: p.part.name, confusion: p.rollups.run })),
            ...(outside.length > 0 ? [{ id: "outside", state: OutsideRow, confusion: outsideRun }] : []),
          ].map((s) => ({ ...s, metrics: metrics(s.confusion) }))
        : [];

      const files: Record<string, string> = byState
        ? {
            mosaic: `${prefix}map.vrt`,
            confidence: `${prefix}confidence.vrt`,
            overview: `${prefix}overview/map.tif`,
            overviewConfidence: `${prefix}overview/confidence.tif`,
          }
        : { mosaic: `${prefix}map.tif`, confidence: `${prefix}confidence.tif` };
      Object.assign(files, {
        accuracyJson: `${prefix}accuracy.json`,
        accuracyCsv: `${prefix}accuracy.csv`,
        mapPng: `${prefix}map.png`,
        disagreementPng: `${prefix}disagreement.png`,
        labelsPng: `${prefix}labels.png`,
        reportMarkdown: `${prefix}report.md`,
        reportHtml: `${prefix}report.html`,
      });
      const key = (name: string) => files[name] as string;
      const sample = composeSamples(
        plan.grid,
        plan.sampleStep,
        parts.map((p) => ({ grid: p.part.grid, sample: p.sample })),
      );
      let overview:
        | { classes: { sha256: string; bytes: number }; confidence: { sha256: string; bytes: number } }
        | undefined;
      if (byState)
        overview = await writeRegionalProducts(s3, {
          outputs,
          prefix,
          plan,
          parts: parts.map((p) => p.part),
          sample,
          keys: {
            classesVrt: key("mosaic"),
            confidenceVrt: key("confidence"),
            classes: key("overview"),
            confidence: key("overviewConfidence"),
          },
        });

      const perClass = runMetrics.perClass.map((c) => ({
        id: c.id,
        name: CropClasses.find((k) => k.id === c.id)?.name ?? "",
        iou: finite(c.iou),
        acc: finite(c.acc),
        pixels: c.pixels,
      }));
      const tileRows = manifests.map((m) => {
        const confusion = perTile.get(m.tileId) as Confusion;
        return {
          tileId: m.tileId,
          aAcc: metrics(confusion).aAcc,
          ownedPixels: confusion.mapped,
          mappedShare: m.pixels.total ? m.pixels.mapped / m.pixels.total : Number.NaN,
          granules: m.granules.map((g) => g.id),
          skippedGranules: m.skipped?.count ?? 0,
          seconds: m.timings.selectSeconds + m.timings.stageSeconds + m.timings.predictSeconds,
          confusion,
        };
      });
      const accuracy = await writeAccuracyFiles(s3, {
        json: ref(outputs, key("accuracyJson")),
        csv: ref(outputs, key("accuracyCsv")),
        summary: {
          runId: input.runId,
          region: region.name,
          year: input.year,
          model: input.model,
          labels: labelRasters,
          run,
          ignoredCdlPixels: ignored,
          perClass,
          perState,
          perTile: tileRows,
        },
      });

      const images = {
        map: mapQuicklook(sample.classes, sample.width, sample.height, ClassPalette),
        disagreement: disagreementQuicklook(sample.classes, sample.labels, sample.width, sample.height),
        // The CDL classes the map was scored against, on the same sampling: the viewer's labels layer.
        labels: mapQuicklook(sample.labels, sample.width, sample.height, ClassPalette),
      };
      await putBytes(s3, ref(outputs, key("mapPng")), images.map, "image/png");
      await putBytes(s3, ref(outputs, key("disagreementPng")), images.disagreement, "image/png");
      await putBytes(s3, ref(outputs, key("labelsPng")), images.labels, "image/png");
      const yearRasters =
        labelRasters.length > 0
          ? []
          : (await createLabelActivities(s3, config).labelGrid({ year: input.year })).rasters;
      const data: ReportData = {
        runId: input.runId,
        region: region.name,
        year: input.year,
        model: input.model,
        labels:
          labelRasters.length > 0
            ? labelRasters.join(", ")
            : yearRasters.length > 0
              ? "none of the year's rasters meets the map"
              : "none published for the year",
        metrics: runMetrics,
        areas: classAreas(run.matrix, plan.grid.pixelSize),
        pixelSize: plan.grid.pixelSize,
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
        // The slowest part ran beside the others: the report's wall time is about it plus assembly.
        buildSeconds: Math.max(0, ...parts.map((p) => p.rollups.seconds)) + (Date.now() - started) / 1000,
        families: await familyComparison(s3, outputs, accuracy),
      };
      await putBytes(s3, ref(outputs, key("reportMarkdown")), reportMarkdown(data), "text/markdown");
      await putBytes(s3, ref(outputs, key("reportHtml")), reportHtml(data, images), "text/html");
      const windows = manifests.flatMap((m) => m.granules.map((g) => g.window));
      const accuracyOf = (m: ReturnType<typeof metrics>) => ({
        aAcc: finite(m.aAcc),
        mIoU: finite(m.mIoU),
        coverage: finite(m.coverage),
      });
      const fileOf = (f: { key: string; sha256: string; bytes: number }) => ({
        sha256: f.sha256,
        bytes: f.bytes,
        key: f.key,
      });
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
        mosaic: byState
          ? {
              grid: {
                ...plan.grid,
                pixelSize: plan.grid.pixelSize * plan.sampleStep,
                width: sample.width,
                height: sample.height,
              },
              accuracy: accuracyOf(runMetrics),
              classes: { ...(overview?.classes as { sha256: string; bytes: number }), key: key("overview") },
              confidence: {
                ...(overview?.confidence as { sha256: string; bytes: number }),
                key: key("overviewConfidence"),
              },
              vrt: { classes: key("mosaic"), confidence: key("confidence") },
            }
          : {
              grid: plan.grid,
              accuracy: accuracyOf(runMetrics),
              classes: fileOf(parts[0]?.rollups.files.classes as PartRollups["files"]["classes"]),
              confidence: fileOf(parts[0]?.rollups.files.confidence as PartRollups["files"]["confidence"]),
            },
        parts: byState
          ? parts.map((p) => ({
              id: p.part.id,
              name: p.part.name,
              // states/<postal> or outside/<row>-<col>, as under the run's folder.
              item: p.part.prefix.slice(prefix.length, -1),
              grid: p.part.grid,
              accuracy: accuracyOf(metrics(p.rollups.run)),
              classes: fileOf(p.rollups.files.classes),
              confidence: fileOf(p.rollups.files.confidence),
            }))
          : [],
      });
      return {
        stac,
        mosaic: formatS3Url(outputs, key("mosaic")),
        confidence: formatS3Url(outputs, key("confidence")),
        ...(byState ? { overview: formatS3Url(outputs, key("overview")) } : {}),
        accuracyJson: formatS3Url(outputs, key("accuracyJson")),
        accuracyCsv: formatS3Url(outputs, key("accuracyCsv")),
        reportHtml: formatS3Url(outputs, key("reportHtml")),
        reportMarkdown: formatS3Url(outputs, key("reportMarkdown")),
        aAcc: finite(runMetrics.aAcc),
        coverage: finite(runMetrics.coverage),
      };
    },
  };
}
