import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import type { LabelSource } from "../lib/accuracy/label.window.ts";
import type { Config } from "../lib/config/config.schema.ts";
import { CdlEpsg, NationalCdlGrid } from "../lib/grid/crs.ts";
import { describeOffset, gridBounds, isOnLattice, latticeOffset } from "../lib/grid/lattice.ts";
import type { Rect } from "../lib/grid/planar.ts";
import { imageGrid, openCog } from "../lib/raster/cog.reader.ts";
import { listAll } from "../lib/storage/s3.objects.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";

export const LabelGridInputParser = z.object({ year: z.number().int() }).strict();
export type LabelGridInput = z.infer<typeof LabelGridInputParser>;

/** The label grid predictions are mapped on: EPSG:5070, 30 m, origin from the CDL rasters themselves. */
export interface LabelGrid {
  epsg: number;
  origin: [number, number];
  pixelSize: number;
  /** Every label raster of the year, with its bounds; empty when none is published yet. */
  rasters: (LabelSource & { bounds: Rect })[];
  source: string;
}

/** A header is a few kilobytes: small blocks keep a year of ~50 state rasters from costing 4 MiB each. */
const HeaderBlockSize = 64 << 10;

export function createLabelActivities(s3: S3Client, config: Config) {
  const cdl = config.storage.cdl;

  async function listYear(year: number): Promise<string[]> {
    const keys = await listAll(s3, cdl.bucket, `${cdl.prefix}${year}/`);
    return keys.filter((k) => k.endsWith(".tif")).sort();
  }

  async function header(key: string) {
    const url = `s3://${cdl.bucket}/${key}`;
    let image: Awaited<ReturnType<typeof openCog>>;
    try {
      image = await openCog(s3, { bucket: cdl.bucket, key }, { blockSize: HeaderBlockSize });
    } catch (error) {
      throw nonRetryable(
        "BadData",
        `label raster ${url} is not a readable GeoTIFF: ${(error as Error).message}`,
      );
    }
    try {
      return { key, url, grid: imageGrid(image, `label raster ${url}`) };
    } catch (error) {
      throw nonRetryable("BadData", (error as Error).message);
    }
  }

  return {
    /**
     * Reads the grid from the year's CDL rasters (a national file, state extracts, or both), so
     * maps line up with all of them pixel for pixel: every raster must be EPSG:5070 (by code or by
     * parameters) with the same pixel size, on one lattice. With no raster for the year (CDL comes
     * out early the next year) the national grid is used.
     */
    async labelGrid(raw: LabelGridInput): Promise<LabelGrid> {
      const { year } = parseInput(LabelGridInputParser, raw, "labelGrid");
      const keys = await listYear(year);
      if (keys.length === 0) {
        return {
          epsg: CdlEpsg,
          origin: [NationalCdlGrid.originX, NationalCdlGrid.originY],
          pixelSize: NationalCdlGrid.pixelSize,
          rasters: [],
          source: `national CDL grid (no label raster under s3://${cdl.bucket}/${cdl.prefix}${year}/)`,
        };
      }
      const headers = await Promise.all(keys.map(header));
      const first = headers[0] as (typeof headers)[number];
      for (const { url, grid } of headers) {
        if (grid.epsg !== CdlEpsg)
          throw nonRetryable(
            "BadData",
            `label raster ${url} is EPSG:${grid.epsg}; CDL rasters are EPSG:${CdlEpsg}`,
          );
        if (grid.pixelSize !== first.grid.pixelSize)
          throw nonRetryable(
            "BadData",
            `label raster ${url} has ${grid.pixelSize} m pixels, ${first.url} ${first.grid.pixelSize} m`,
          );
        const offset = latticeOffset(grid.origin, first.grid.origin, grid.pixelSize);
        if (!isOnLattice(offset))
          throw nonRetryable(
            "BadData",
            `label raster ${url} (origin ${grid.origin.join(",")}) is off the grid of ${first.url} ` +
              `(origin ${first.grid.origin.join(",")}) by ${describeOffset(offset)}`,
          );
      }
      return {
        epsg: CdlEpsg,
        origin: first.grid.origin,
        pixelSize: first.grid.pixelSize,
        rasters: headers.map(({ key, grid }) => ({ bucket: cdl.bucket, key, bounds: gridBounds(grid) })),
        source: headers.length === 1 ? first.url : `${first.url} and ${headers.length - 1} more`,
      };
    },
  };
}
