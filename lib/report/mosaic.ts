import type { Confusion } from "../accuracy/confusion.ts";
import { accumulate, emptyConfusion } from "../accuracy/confusion.ts";
import type { Raster } from "../raster/raster.types.ts";

export interface MosaicGrid {
  epsg: number;
  origin: [number, number];
  pixelSize: number;
  width: number;
  height: number;
}

/** The smallest grid holding every tile grid (all on the same label grid). */
export function unionGrid(grids: MosaicGrid[]): MosaicGrid {
  const first = grids[0];
  if (!first) throw new Error("no tile grids to mosaic");
  const p = first.pixelSize;
  const minX = Math.min(...grids.map((g) => g.origin[0]));
  const maxY = Math.max(...grids.map((g) => g.origin[1]));
  const maxX = Math.max(...grids.map((g) => g.origin[0] + g.width * p));
  const minY = Math.min(...grids.map((g) => g.origin[1] - g.height * p));
  return {
    epsg: first.epsg,
    origin: [minX, maxY],
    pixelSize: p,
    width: Math.round((maxX - minX) / p),
    height: Math.round((maxY - minY) / p),
  };
}

/** The part of a grid inside bounds (same CRS), snapped outward onto the grid's own pixels. */
export function clipGrid(grid: MosaicGrid, [minX, minY, maxX, maxY]: readonly number[]): MosaicGrid {
  const p = grid.pixelSize;
  const col0 = Math.max(0, Math.floor(((minX as number) - grid.origin[0]) / p));
  const col1 = Math.min(grid.width, Math.ceil(((maxX as number) - grid.origin[0]) / p));
  const row0 = Math.max(0, Math.floor((grid.origin[1] - (maxY as number)) / p));
  const row1 = Math.min(grid.height, Math.ceil((grid.origin[1] - (minY as number)) / p));
  if (col1 <= col0 || row1 <= row0) throw new Error("the region does not overlap the mapped tiles");
  return {
    ...grid,
    origin: [grid.origin[0] + col0 * p, grid.origin[1] - row0 * p],
    width: col1 - col0,
    height: row1 - row0,
  };
}

export interface Mosaic {
  grid: MosaicGrid;
  classes: Uint8Array;
  /** Percent, 255 where nothing was mapped. */
  confidence: Uint8Array;
  /** Index of the tile each pixel came from, -1 where none. */
  owner: Int16Array;
}

/**
 * Pastes tile maps into one grid inside the region: where tiles overlap the more confident
 * prediction wins (ties go to the tile pasted first, tiles in id order), so each pixel has exactly
 * one owner tile.
 */
export function createMosaic(grid: MosaicGrid): Mosaic {
  const n = grid.width * grid.height;
  return {
    grid,
    classes: new Uint8Array(n),
    confidence: new Uint8Array(n).fill(255),
    owner: new Int16Array(n).fill(-1),
  };
}

export function pasteTile(
  mosaic: Mosaic,
  inside: Uint8Array,
  index: number,
  classes: Raster,
  confidence: Raster,
): void {
  const { grid } = mosaic;
  const col0 = Math.round((classes.geo.origin[0] - grid.origin[0]) / grid.pixelSize);
  const row0 = Math.round((grid.origin[1] - classes.geo.origin[1]) / grid.pixelSize);
  for (let r = 0; r < classes.height; r++) {
    const row = row0 + r;
    if (row < 0 || row >= grid.height) continue;
    for (let c = 0; c < classes.width; c++) {
      const col = col0 + c;
      if (col < 0 || col >= grid.width) continue;
      const at = row * grid.width + col;
      const value = classes.data[r * classes.width + c] as number;
      if (value === 0 || !inside[at]) continue;
      const conf = confidence.data[r * confidence.width + c] as number;
      const held = mosaic.confidence[at] as number;
      if ((mosaic.owner[at] as number) >= 0 && held !== 255 && held >= conf) continue;
      mosaic.classes[at] = value;
      mosaic.confidence[at] = conf;
      mosaic.owner[at] = index;
    }
  }
}

/**
 * The run's confusion matrix and one per tile, each labelled pixel of the region counted once:
 * in the tile that owns it in the mosaic. Unmapped labelled pixels count as coverage only.
 */
export function rollUp(
  mosaic: Mosaic,
  labels: Uint8Array,
  inside: Uint8Array,
  tiles: number,
  classes: number,
) {
  const run = emptyConfusion(classes);
  const perTile: Confusion[] = Array.from({ length: tiles }, () => emptyConfusion(classes));
  const regionLabels = labels.map((l, i) => (inside[i] ? l : 0));
  accumulate(run, regionLabels, mosaic.classes);
  // Per tile: the pixels it owns; labelled pixels nobody mapped go to no tile.
  for (let i = 0; i < regionLabels.length; i++) {
    const l = regionLabels[i] as number;
    const owner = mosaic.owner[i] as number;
    if (l === 0 || owner < 0) continue;
    const t = perTile[owner] as Confusion;
    t.labelled++;
    t.mapped++;
    const row = t.matrix[l - 1] as number[];
    const p = mosaic.classes[i] as number;
    row[p - 1] = (row[p - 1] as number) + 1;
  }
  return { run, perTile };
}
