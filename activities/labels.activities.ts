import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import type { Config } from "../lib/config/config.schema.ts";
import { CdlEpsg, NationalCdlGrid } from "../lib/grid/crs.ts";
import { openCog } from "../lib/raster/cog.reader.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";

export const LabelGridInputParser = z.object({ year: z.number().int() }).strict();
export type LabelGridInput = z.infer<typeof LabelGridInputParser>;

/** The label grid predictions are mapped on: EPSG:5070, 30 m, origin from the CDL raster itself. */
export interface LabelGrid {
  epsg: number;
  origin: [number, number];
  pixelSize: number;
  /** The label rasters found for the year (s3:// URLs), empty when none is published yet. */
  rasters: string[];
  source: string;
}

export function createLabelActivities(s3: S3Client, config: Config) {
  const cdl = config.storage.cdl;
  return {
    /**
     * Reads the grid from the year's CDL rasters, so maps line up with them pixel for pixel. With
     * no raster for the year (CDL comes out early the next year) the national grid is used.
     */
    async labelGrid(raw: LabelGridInput): Promise<LabelGrid> {
      const { year } = parseInput(LabelGridInputParser, raw, "labelGrid");
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: cdl.bucket, Prefix: `${cdl.prefix}${year}/` }),
      );
      const keys = (listed.Contents ?? [])
        .map((o) => o.Key ?? "")
        .filter((k) => k.endsWith(".tif"))
        .sort();
      if (keys.length === 0) {
        return {
          epsg: CdlEpsg,
          origin: [NationalCdlGrid.originX, NationalCdlGrid.originY],
          pixelSize: NationalCdlGrid.pixelSize,
          rasters: [],
          source: `national CDL grid (no label raster under s3://${cdl.bucket}/${cdl.prefix}${year}/)`,
        };
      }
      const first = keys[0] as string;
      let image: Awaited<ReturnType<typeof openCog>>;
      try {
        image = await openCog(s3, { bucket: cdl.bucket, key: first });
      } catch (error) {
        throw nonRetryable(
          "BadData",
          `label raster s3://${cdl.bucket}/${first} is not a readable GeoTIFF: ${(error as Error).message}`,
        );
      }
      const epsg = image.getGeoKeys()?.ProjectedCSTypeGeoKey;
      if (epsg !== CdlEpsg) {
        throw nonRetryable(
          "BadData",
          `label raster s3://${cdl.bucket}/${first} is EPSG:${epsg}; CDL rasters are EPSG:${CdlEpsg}`,
        );
      }
      const [x, y] = image.getOrigin() as [number, number];
      const [rx] = image.getResolution() as [number, number];
      return {
        epsg,
        origin: [x, y],
        pixelSize: Math.abs(rx),
        rasters: keys.map((k) => `s3://${cdl.bucket}/${k}`),
        source: `s3://${cdl.bucket}/${first}`,
      };
    },
  };
}
