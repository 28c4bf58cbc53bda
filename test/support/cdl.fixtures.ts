import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { CdlEpsg, transform } from "../../lib/grid/crs.ts";
import { type PixelGrid, snapToNationalGrid } from "../../lib/grid/lattice.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import { rasterizeRings } from "../../lib/raster/rasterize.ts";
import { stateExtent } from "../../lib/region/state.extent.ts";
import { findState } from "../../lib/region/us.states.ts";

/** GDAL's command-line tools, where gdal-bin is installed; tests that need them skip otherwise. */
export const gdalAvailable: Promise<boolean> = promisify(execFile)("gdal_translate", ["--version"]).then(
  () => true,
  () => false,
);

export async function gdal(tool: string, args: string[]): Promise<string> {
  return (await promisify(execFile)(tool, args)).stdout;
}

/** A box of the national CDL grid of `width` x `height` pixels, its upper-left corner near a lon/lat. */
export function boxNear(lon: number, lat: number, width: number, height: number): PixelGrid {
  const [x, y] = transform(4326, CdlEpsg).forward([lon, lat]);
  const { origin, pixelSize } = snapToNationalGrid([x, y, x, y]);
  return { origin, pixelSize, width, height };
}

/** Where the Mississippi parts Iowa (Davenport) from Illinois (Rock Island). */
export const QuadCities = { lon: -90.48, lat: 41.56 } as const;

/** 1 inside the state's outline, 0 outside, over a box (the mask a state extract carries). */
export function stateMask(postal: string, box: PixelGrid): Uint8Array {
  const state = findState(postal);
  if (!state) throw new Error(`no state ${postal}`);
  return rasterizeRings(stateExtent(state).rings.flat(), box);
}

/**
 * A CropScape-like state extract over a box as a COG: CDL codes inside the state (from `code`,
 * a function of the pixel), 0 (background) outside it.
 */
export function stateExtract(
  postal: string,
  box: PixelGrid,
  code: (col: number, row: number) => number,
  options: { colorMap?: [number, number, number][] } = {},
): Promise<Buffer> {
  const inside = stateMask(postal, box);
  const data = new Uint8Array(box.width * box.height);
  for (let row = 0; row < box.height; row++) {
    for (let col = 0; col < box.width; col++) {
      const i = row * box.width + col;
      if (inside[i]) data[i] = code(col, row);
    }
  }
  return encodeCog(
    {
      width: box.width,
      height: box.height,
      data,
      geo: { epsg: CdlEpsg, origin: box.origin, pixelSize: 30 },
      nodata: 0,
    },
    { overviews: "nearest", ...options },
  );
}
