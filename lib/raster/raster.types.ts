/** Pixel arrays the pipeline reads and writes. */
export type PixelArray = Int16Array | Uint8Array | Uint16Array | Float32Array;

/** A north-up grid: origin is the upper-left corner of the first pixel, in the CRS's metres. */
/** A single-band raster in memory. */
export interface Raster<T extends PixelArray = PixelArray> {
  width: number;
  height: number;
  data: T;
  geo: GridGeo;
  nodata?: number;
}

import type { GridGeo } from "../contracts/grid.contract.ts";
