import proj4 from "proj4";
import type { Point } from "./planar.ts";

/** NAD83 / Conus Albers, the CDL's CRS. NAD83 and WGS 84 are taken as equal (sub-metre here). */
export const CdlEpsg = 5070;
const Albers =
  "+proj=aea +lat_0=23 +lon_0=-96 +lat_1=29.5 +lat_2=45.5 +x_0=0 +y_0=0 +datum=NAD83 +units=m +no_defs";

/**
 * The national CDL grid: 30 m pixels whose edges fall at 15 m modulo 30 m. Only a fallback for
 * generating labels; a pipeline run reads the grid from the label raster's own geotransform.
 */
export const NationalCdlGrid = { originX: -2356095, originY: 3172605, pixelSize: 30 } as const;

/** The proj4 definition of a supported CRS (the viewer registers EPSG:5070 in the browser with it). */
export function proj4Definition(epsg: number): string {
  if (epsg === CdlEpsg) return Albers;
  if (epsg > 32600 && epsg <= 32660) return `+proj=utm +zone=${epsg - 32600} +datum=WGS84 +units=m +no_defs`;
  if (epsg > 32700 && epsg <= 32760)
    return `+proj=utm +zone=${epsg - 32700} +south +datum=WGS84 +units=m +no_defs`;
  if (epsg === 4326) return "WGS84";
  throw new Error(`EPSG:${epsg} is not supported (UTM 326xx and 327xx, 5070 and 4326 are)`);
}

export interface Transform {
  forward(p: Point): [number, number];
  inverse(p: Point): [number, number];
}

const cache = new Map<string, Transform>();

/** A coordinate transform between two supported CRSs, built once per pair. */
export function transform(from: number, to: number): Transform {
  const key = `${from}>${to}`;
  let t = cache.get(key);
  if (!t) {
    const converter = proj4(proj4Definition(from), proj4Definition(to));
    t = {
      forward: (p) => converter.forward([p[0], p[1]]) as [number, number],
      inverse: (p) => converter.inverse([p[0], p[1]]) as [number, number],
    };
    cache.set(key, t);
  }
  return t;
}

/**
 * Where each pixel centre of a north-up grid lands in another CRS, for rows [from, to) of it (the
 * whole raster unless given), row-major. Exact transforms on a lattice every `step` pixels of the
 * whole grid, bilinear in between, so a band of rows gets the very values the whole raster would:
 * the curvature of a UTM-to-Albers mapping over a few hundred metres is far below a millimetre.
 */
export function pixelCentresIn(
  grid: { origin: [number, number]; pixelSize: number; width: number; height: number },
  t: Transform,
  step = 16,
  [from, to]: [number, number] = [0, grid.height],
): { x: Float64Array; y: Float64Array } {
  const { width, height, origin, pixelSize } = grid;
  const nx = Math.max(2, Math.ceil((width - 1) / step) + 1);
  const ny = Math.max(2, Math.ceil((height - 1) / step) + 1);
  const cell = (py: number) => Math.min(Math.floor(py / step), ny - 2);
  // Only the lattice rows these pixel rows fall between.
  const j0 = cell(from);
  const rows = cell(Math.max(to - 1, from)) + 2 - j0;
  const lx = new Float64Array(nx * rows);
  const ly = new Float64Array(nx * rows);
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < nx; i++) {
      const px = Math.min(i * step, width - 1);
      const py = Math.min((j0 + j) * step, height - 1);
      const [x, y] = t.forward([origin[0] + (px + 0.5) * pixelSize, origin[1] - (py + 0.5) * pixelSize]);
      lx[j * nx + i] = x;
      ly[j * nx + i] = y;
    }
  }
  const x = new Float64Array(width * (to - from));
  const y = new Float64Array(width * (to - from));
  for (let py = from; py < to; py++) {
    const j = cell(py);
    const y0 = j * step;
    const y1 = Math.min((j + 1) * step, height - 1);
    const fy = y1 === y0 ? 0 : (py - y0) / (y1 - y0);
    for (let px = 0; px < width; px++) {
      const i = Math.min(Math.floor(px / step), nx - 2);
      const x0 = i * step;
      const x1 = Math.min((i + 1) * step, width - 1);
      const fx = x1 === x0 ? 0 : (px - x0) / (x1 - x0);
      const a = (j - j0) * nx + i;
      const b = a + 1;
      const c = a + nx;
      const d = c + 1;
      const o = (py - from) * width + px;
      x[o] =
        ((lx[a] as number) * (1 - fx) + (lx[b] as number) * fx) * (1 - fy) +
        ((lx[c] as number) * (1 - fx) + (lx[d] as number) * fx) * fy;
      y[o] =
        ((ly[a] as number) * (1 - fx) + (ly[b] as number) * fx) * (1 - fy) +
        ((ly[c] as number) * (1 - fx) + (ly[d] as number) * fx) * fy;
    }
  }
  return { x, y };
}
