import type { S3Client } from "@aws-sdk/client-s3";
import { heartbeat } from "@temporalio/activity";
import type { Config } from "../lib/config/config.schema.ts";
import { parseGranuleId } from "../lib/contracts/granule.id.ts";
import { type SeriesIndex, SeriesIndexParser } from "../lib/contracts/series.index.ts";
import { StackNodata } from "../lib/contracts/stack.header.ts";
import {
  type StagedSeries,
  type StageTileInput,
  StageTileInputParser,
} from "../lib/contracts/stage.contract.ts";
import { createS3Archive, type HlsArchive } from "../lib/hls/hls.archive.ts";
import { encodeStack } from "../lib/pipeline/stack.writer.ts";
import { getJson, objectSize, putBytes, putJson, ref } from "../lib/storage/s3.objects.ts";
import { parseInput } from "./activity.failures.ts";
import { GranuleWarp } from "./granule.warp.ts";
import { stagingDigest, targetGridFor } from "./stage.activities.ts";

/** A stable folder from what decides the series' content. */
export function seriesKeyFor(input: StageTileInput): string {
  return `series/${input.year}/${input.tileId}/${stagingDigest(input)}/`;
}

export function createSeriesStageActivities(
  s3: S3Client,
  config: Config,
  archive: HlsArchive = createS3Archive(s3, config.storage.hls),
) {
  const { work } = config.storage;
  return {
    /**
     * Stages every chosen observation of the season as its own stack on the label grid, clear
     * pixels kept per date (a cloudy granule gives what it has clear), then the index. The index,
     * written last, marks the series finished; a retry before it reads the granules again (the
     * "clear once" count needs every date) but does not upload a date already written.
     */
    async stageSeries(raw: StageTileInput): Promise<StagedSeries> {
      const started = Date.now();
      const input = parseInput(StageTileInputParser, raw, "stageSeries");
      const seriesKey = seriesKeyFor(input);
      const indexRef = ref(work, `${seriesKey}index.json`);
      const done = await getJson(s3, indexRef);
      if (done !== undefined)
        return { seriesKey, index: SeriesIndexParser.parse(done), seconds: (Date.now() - started) / 1000 };

      const warp = new GranuleWarp(archive, (fmask) =>
        targetGridFor(fmask, input.labelGrid, input.chip.size),
      );
      const dates: SeriesIndex["dates"] = [];
      const dropped: string[] = [];
      let clearOnce: Uint8Array | undefined;
      for await (const { granuleId: granule, bands: planes } of warp.warpEach(input.granules)) {
        const key = `${seriesKey}${granule}.stack`;
        const dateRef = ref(work, key);
        const doy = parseGranuleId(granule).doy;
        const clear = planes[0] as Int16Array;
        clearOnce ??= new Uint8Array(clear.length);
        let clearPixels = 0;
        for (let i = 0; i < clear.length; i++) {
          if (clear[i] === StackNodata) continue;
          clearPixels++;
          clearOnce[i] = 1;
        }
        if (clearPixels === 0) dropped.push(granule);
        else {
          if ((await objectSize(s3, dateRef)) === undefined) {
            const body = await encodeStack(
              planes,
              warp.grid as NonNullable<typeof warp.grid>,
              input.chip.stride,
              clearPixels,
            );
            await putBytes(s3, dateRef, body, "application/octet-stream");
          }
          dates.push({ granule, doy, key, clearPixels });
        }
        heartbeat({ staged: granule });
      }
      const grid = warp.grid as NonNullable<typeof warp.grid>;
      const index = SeriesIndexParser.parse({
        grid,
        chunk: input.chip.stride,
        dates,
        dropped,
        pixels: {
          total: grid.width * grid.height,
          clearOnce: (clearOnce ?? new Uint8Array()).reduce((n, v) => n + v, 0),
        },
      });
      await putJson(s3, indexRef, index);
      return { seriesKey, index, seconds: (Date.now() - started) / 1000 };
    },
  };
}
