import type { S3Client } from "@aws-sdk/client-s3";
import type { GeoTIFFImage } from "geotiff";
import { cdlToClassLut } from "../cdl/classes.ts";
import type { GridGeo } from "../contracts/grid.contract.ts";
import {
  describeOffset,
  gridBounds,
  isOnLattice,
  latticeOffset,
  type PixelGrid,
  rectsOverlap,
  windowOf,
} from "../grid/lattice.ts";
import type { Rect } from "../grid/planar.ts";
import { imageGrid, openCog, readWindowInto } from "../raster/cog.reader.ts";
import type { ObjectRef } from "../storage/s3.objects.ts";
import { s3Source } from "../storage/s3.source.ts";
import { giveShared, takeShared } from "../threads/shared.buffers.ts";

/** A label raster, with its bounds (EPSG:5070 metres) when already known from its header. */
export interface LabelSource extends ObjectRef {
  bounds?: Rect;
}

/** A label raster that cannot be read onto the map's grid (another CRS, pixel size or lattice). */
export class LabelRasterError extends Error {
  override name = "LabelRasterError";
}

export type LabelWindowGrid = GridGeo & { width: number; height: number };

const urlOf = (raster: ObjectRef) => `s3://${raster.bucket}/${raster.key}`;

/** Opens a label raster; a caller reading many windows passes one that keeps them open. */
export type OpenLabelRaster = (raster: ObjectRef) => Promise<GeoTIFFImage>;

/**
 * The CDL classes under a map's grid (same CRS and pixel size, origin on the label grid), composed
 * from every label raster that meets it: state extracts are 0 (background) outside their state, so
 * a nonzero code wins over 0 (between two nonzero codes, the raster listed first). Rasters whose
 * known bounds miss the grid are not opened; the others are read with a window. 0 where no raster
 * has a label; codes not in the class table also become 0 and are counted in `ignored`. A raster
 * off the grid is refused rather than resampled: maps must line up pixel for pixel.
 */
export async function labelWindow(
  s3: S3Client,
  rasters: readonly LabelSource[],
  grid: LabelWindowGrid,
  open: OpenLabelRaster = (raster) => openCog(s3Source(s3, raster)),
): Promise<{ classes: Uint8Array; ignored: number; rasters: string[] }> {
  const codes = new Uint8Array(grid.width * grid.height);
  const used: string[] = [];
  const bounds = gridBounds(grid);
  for (const raster of rasters) {
    if (raster.bounds && !rectsOverlap(raster.bounds, bounds)) continue;
    if (await composeCodes(await open(raster), raster, grid, codes, used.length === 0))
      used.push(urlOf(raster));
  }
  // Codes become classes in place: one array a window.
  const ignored = codesToClasses(codes);
  return { classes: codes, ignored, rasters: used };
}

/**
 * CDL codes to class ids, in place; how many nonzero codes have no class. A plain function of its
 * own, so the loop is optimised apart from the async code around it.
 */
function codesToClasses(codes: Uint8Array): number {
  const lut = cdlToClassLut();
  let ignored = 0;
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i] as number;
    const classId = lut[code] as number;
    if (code !== 0 && classId === 0) ignored++;
    codes[i] = classId;
  }
  return ignored;
}

/**
 * Writes a raster's nonzero codes into `codes` where it holds none yet (`first`: it holds none at
 * all, so rows are copied whole); false when the raster misses the grid.
 */
async function composeCodes(
  image: GeoTIFFImage,
  raster: ObjectRef,
  grid: LabelWindowGrid,
  codes: Uint8Array,
  first: boolean,
): Promise<boolean> {
  const url = urlOf(raster);
  const own: PixelGrid & GridGeo = imageGrid(image, url);
  if (own.epsg !== grid.epsg)
    throw new LabelRasterError(`label raster ${url} is EPSG:${own.epsg}, the map EPSG:${grid.epsg}`);
  if (own.pixelSize !== grid.pixelSize)
    throw new LabelRasterError(
      `label raster ${url} has ${own.pixelSize} m pixels, the map ${grid.pixelSize} m`,
    );
  const offset = latticeOffset(grid.origin, own.origin, grid.pixelSize);
  if (!isOnLattice(offset)) {
    throw new LabelRasterError(
      `grid origin ${grid.origin.join(",")} is not on the label raster's grid (${url}, origin ` +
        `${own.origin.join(",")}): off by ${describeOffset(offset)}`,
    );
  }
  const { col0, row0, window } = windowOf(grid, own);
  if (!window) return false;
  const [c0, r0, c1, r1] = window;
  const w = c1 - c0;
  // Read into a reused buffer: the window is copied into `codes` at once.
  const into = takeShared(w * (r1 - r0));
  const read = (await readWindowInto(image, window, into)) as Uint8Array;
  for (let r = r0; r < r1; r++) {
    const at = (r - row0) * grid.width + (c0 - col0);
    if (first) {
      codes.set(read.subarray((r - r0) * w, (r - r0 + 1) * w), at);
      continue;
    }
    for (let c = 0; c < w; c++) {
      const code = read[(r - r0) * w + c] as number;
      if (code !== 0 && codes[at + c] === 0) codes[at + c] = code;
    }
  }
  giveShared(into);
  return true;
}

export async function labelClassesFor(
  s3: S3Client,
  rasters: readonly LabelSource[],
  grid: LabelWindowGrid,
): Promise<Uint8Array> {
  return (await labelWindow(s3, rasters, grid)).classes;
}
