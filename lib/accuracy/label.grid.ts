import type { S3Client } from "@aws-sdk/client-s3";
import type { S3Location } from "../core/s3.url.ts";
import { CdlEpsg, NationalCdlGrid } from "../grid/crs.ts";
import { describeOffset, gridBounds, isOnLattice, latticeOffset } from "../grid/lattice.ts";
import type { Rect } from "../grid/planar.ts";
import { imageGrid, openCog } from "../raster/cog.reader.ts";
import { listAll } from "../storage/s3.objects.ts";
import { s3Source } from "../storage/s3.source.ts";
import { LabelRasterError, type LabelSource } from "./label.window.ts";

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

async function header(s3: S3Client, cdl: S3Location, key: string) {
  const url = `s3://${cdl.bucket}/${key}`;
  let image: Awaited<ReturnType<typeof openCog>>;
  try {
    image = await openCog(s3Source(s3, { bucket: cdl.bucket, key }), { blockSize: HeaderBlockSize });
  } catch (error) {
    throw new LabelRasterError(`label raster ${url} is not a readable GeoTIFF: ${(error as Error).message}`);
  }
  try {
    return { key, url, grid: imageGrid(image, `label raster ${url}`) };
  } catch (error) {
    throw new LabelRasterError((error as Error).message);
  }
}

/**
 * Reads the grid from the year's CDL rasters under `cdl` (a national file, state extracts, or
 * both), so maps line up with all of them pixel for pixel: every raster must be EPSG:5070 (by code
 * or by parameters) with the same pixel size, on one lattice, or a LabelRasterError names it. With
 * no raster for the year (CDL comes out early the next year) the national grid is used.
 */
export async function readLabelGrid(s3: S3Client, cdl: S3Location, year: number): Promise<LabelGrid> {
  const keys = (await listAll(s3, cdl.bucket, `${cdl.prefix}${year}/`))
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
  const headers = await Promise.all(keys.map((key) => header(s3, cdl, key)));
  const first = headers[0] as (typeof headers)[number];
  for (const { url, grid } of headers) {
    if (grid.epsg !== CdlEpsg)
      throw new LabelRasterError(`label raster ${url} is EPSG:${grid.epsg}; CDL rasters are EPSG:${CdlEpsg}`);
    if (grid.pixelSize !== first.grid.pixelSize)
      throw new LabelRasterError(
        `label raster ${url} has ${grid.pixelSize} m pixels, ${first.url} ${first.grid.pixelSize} m`,
      );
    const offset = latticeOffset(grid.origin, first.grid.origin, grid.pixelSize);
    if (!isOnLattice(offset))
      throw new LabelRasterError(
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
}
