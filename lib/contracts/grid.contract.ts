import { z } from "zod";

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

/** A pixel grid as records in S3 carry it (mosaic plans, tile manifests). */
export const PixelGridParser = z
  .object({
    epsg: z.number().int(),
    origin: z.tuple([z.number(), z.number()]),
    pixelSize: z.number().positive(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
  })
  .strict();
