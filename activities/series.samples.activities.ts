import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { heartbeat } from "@temporalio/activity";
import { labelClassesFor } from "../lib/accuracy/label.window.ts";
import { albersBounds, type Footprint, holds } from "../lib/chips/chip.grid.ts";
import type { Config } from "../lib/config/config.schema.ts";
import {
  type ChipTileOutcome,
  type MakeSeriesSamplesInput,
  MakeSeriesSamplesInputParser,
} from "../lib/contracts/chips.contract.ts";
import type {
  SeriesSample,
  SeriesSplit,
  SeriesTileManifest,
} from "../lib/contracts/series.dataset.contract.ts";
import { SeriesIndexParser } from "../lib/contracts/series.index.ts";
import { formatS3Url } from "../lib/core/s3.url.ts";
import { rectsTouch } from "../lib/grid/planar.ts";
import { loadStrips } from "../lib/series/series.input.ts";
import {
  CappedDraw,
  type ClearSeries,
  centreClear,
  clearSeries,
  sampleKey,
  splitOf,
} from "../lib/series/series.sample.ts";
import { holdChunkRows, openSeriesDates } from "../lib/series/series.strips.ts";
import { getJson, putBytes, putJson, ref } from "../lib/storage/s3.objects.ts";
import { npzBytes } from "../lib/training/npz.writer.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";
import { chipTileManifestKey, footprintOf } from "./chips.activities.ts";

/** The label pixels a tile samples: centres inside its own footprint and in no earlier dataset tile's (tiles overlap). */
function ownership(tileId: string, datasetTiles: string[]): (centre: [number, number]) => boolean {
  const own = footprintOf(tileId);
  const ownBounds = albersBounds(own);
  const earlier: Footprint[] = datasetTiles
    .filter((t) => t < tileId)
    .map(footprintOf)
    .filter((f) => rectsTouch(albersBounds(f), ownBounds));
  return (centre) => holds(own, [centre]) && !earlier.some((f) => holds(f, [centre]));
}

export function createSeriesSampleActivities(s3: S3Client, config: Config) {
  const { outputs, work } = config.storage;
  return {
    /**
     * Samples a tile's staged series: every labelled pixel it owns with `minDates` clear
     * observations is drawn into its split (by its block) and class, each class keeping its cap
     * of least keys; the unlabelled draw takes any pixel of a TRAIN block. A drawn pixel keeps the
     * dates its whole patch is clear on, and is left out with fewer than `minDates`. Each series is
     * written as `<split>/<px id>.npz`, then, last, the tile's manifest.
     */
    async makeSeriesSamples(raw: MakeSeriesSamplesInput): Promise<ChipTileOutcome> {
      const input = parseInput(MakeSeriesSamplesInputParser, raw, "makeSeriesSamples");
      const { sampling, seed, validationShare } = input;
      const indexJson = await getJson(s3, ref(work, `${input.seriesKey}index.json`));
      if (indexJson === undefined)
        throw nonRetryable(
          "BadData",
          `staged series ${formatS3Url(work, input.seriesKey)}index.json is missing`,
        );
      const index = SeriesIndexParser.parse(indexJson);
      const { grid } = index;
      const { width, height, pixelSize: p } = grid;
      const dates = await openSeriesDates(s3, work, index.dates);
      const labels = await labelClassesFor(s3, input.labelGrid.rasters, grid);
      const col0 = Math.round((grid.origin[0] - input.labelGrid.origin[0]) / p);
      const row0 = Math.round((input.labelGrid.origin[1] - grid.origin[1]) / p);
      const owns = ownership(input.tileId, input.datasetTiles);
      const evalCap = sampling.evalPerClass ?? sampling.perClass;
      const draws = new Map<string, CappedDraw<ClearSeries>>();
      const drawOf = (split: SeriesSplit, label: number) => {
        const name = split === "UNLABELLED" ? split : `${split}/${label}`;
        let draw = draws.get(name);
        if (!draw) {
          const cap =
            split === "UNLABELLED" ? sampling.unlabelled : split === "TRAIN" ? sampling.perClass : evalCap;
          draw = new CappedDraw<ClearSeries>(cap);
          draws.set(name, draw);
        }
        return draw;
      };
      const candidates: Record<string, number> = { TRAIN: 0, VALIDATE: 0, TEST: 0 };
      let fewDates = 0;
      const half = (sampling.patch - 1) / 2;
      const chunk = index.chunk;
      const chunksDown = Math.ceil(height / chunk);
      for (let cy = 0; cy < chunksDown; cy++) {
        await holdChunkRows(s3, work, index.dates, dates, cy, Math.ceil(half / chunk));
        const y1 = Math.min(height, (cy + 1) * chunk);
        loadStrips(dates, cy * chunk, y1, half, { divideBy: 1 });
        for (let y = cy * chunk; y < y1; y++)
          for (let x = 0; x < width; x++) {
            if (centreClear(dates, x, y) < sampling.minDates) continue;
            const [col, row] = [col0 + x, row0 + y];
            const split = splitOf(col, row, sampling, seed, validationShare);
            const label = labels[y * width + x] as number;
            if (label > 0) {
              candidates[split] = (candidates[split] as number) + 1;
              drawOf(split, label).offer(sampleKey(seed, "labelled", col, row), y * width + x);
            }
            if (sampling.unlabelled > 0 && split === "TRAIN")
              drawOf("UNLABELLED", 0).offer(sampleKey(seed, "unlabelled", col, row), y * width + x);
          }
        // The rows' newcomers are checked while their strips are loaded.
        const check = (pixel: number): ClearSeries | null => {
          const [x, y] = [pixel % width, Math.floor(pixel / width)];
          if (!owns([grid.origin[0] + (x + 0.5) * p, grid.origin[1] - (y + 0.5) * p])) return null;
          const series = clearSeries(dates, x, y, sampling.patch);
          if (series.dates >= sampling.minDates) return series;
          fewDates++;
          return null;
        };
        for (const draw of draws.values()) draw.settle(check);
        heartbeat({ row: cy + 1, rows: chunksDown });
      }

      const samples: SeriesSample[] = [];
      for (const [name, draw] of [...draws].sort(([a], [b]) => a.localeCompare(b))) {
        const split = name.split("/")[0] as SeriesSplit;
        for (const { key, pixel, value } of draw.values) {
          const [x, y] = [pixel % width, Math.floor(pixel / width)];
          const id = `px_${col0 + x}_${row0 + y}`;
          const label = split === "UNLABELLED" ? (labels[pixel] as number) : Number(name.split("/")[1]);
          const k = sampling.patch;
          const body = npzBytes({
            ts: { dtype: "int16", shape: [value.dates, 6, k, k], data: value.ts },
            doy: { dtype: "int16", shape: [value.dates], data: value.doy },
            ...(split === "UNLABELLED"
              ? {}
              : { class_label: { dtype: "int16", shape: [1], data: Int16Array.of(label - 1) } }),
          });
          const fileKey = `${input.outputPrefix}${split}/${id}.npz`;
          await putBytes(s3, ref(outputs, fileKey), body, "application/octet-stream");
          samples.push({
            id,
            split,
            label,
            key,
            dates: value.dates,
            file: {
              key: fileKey,
              sha256: createHash("sha256").update(body).digest("hex"),
              bytes: body.length,
            },
          });
        }
        heartbeat({ written: samples.length });
      }
      const manifest: SeriesTileManifest = {
        kind: "series",
        tileId: input.tileId,
        year: input.year,
        status: "done",
        granules: index.dates.map((d) => d.granule),
        candidates,
        fewDates,
        samples,
        ...(samples.length === 0
          ? { reason: "no pixel of the tile has the clear dates a series needs" }
          : {}),
      };
      await putJson(s3, ref(outputs, chipTileManifestKey(input.outputPrefix, input.tileId)), manifest);
      return {
        tileId: input.tileId,
        status: "done",
        ...(manifest.reason ? { reason: manifest.reason } : {}),
      };
    },
  };
}
