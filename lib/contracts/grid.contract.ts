/** Where a north-up grid sits: its CRS, the upper-left corner of its first pixel and the pixel size (m). */
export interface GridGeo {
  epsg: number;
  origin: [number, number];
  pixelSize: number;
}

/** A grid of pixels on the ground: a staged tile's (the target of the warp), a mosaic's or a part's. */
export interface PixelGrid extends GridGeo {
  width: number;
  height: number;
}
export type TargetGrid = PixelGrid;
export type MosaicGrid = PixelGrid;
