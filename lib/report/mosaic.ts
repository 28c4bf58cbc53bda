import { emptyConfusion } from "../accuracy/confusion.ts";
import type { MosaicGrid } from "../contracts/grid.contract.ts";
import type { Confusion } from "../contracts/report.contract.ts";
import { describeOffset, isOnLattice, latticeOffset } from "../grid/lattice.ts";
import type { Raster } from "../raster/raster.types.ts";

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

/**
 * Why tile maps cannot go into one mosaic (another CRS or pixel size, or an origin off the first
 * tile's lattice), naming the tiles; undefined when they can. Maps are never resampled here.
 */
export function tilesOffGrid(tiles: { tileId: string; grid: MosaicGrid }[]): string | undefined {
  const first = tiles[0];
  if (!first) return undefined;
  const g = first.grid;
  for (const { tileId, grid } of tiles.slice(1)) {
    if (grid.epsg !== g.epsg || grid.pixelSize !== g.pixelSize)
      return `tile maps are on different grids: ${first.tileId} is EPSG:${g.epsg} at ${g.pixelSize} m, ${tileId} EPSG:${grid.epsg} at ${grid.pixelSize} m`;
    const offset = latticeOffset(grid.origin, g.origin, g.pixelSize);
    if (!isOnLattice(offset))
      return `tile maps are on different grids: ${tileId} is off ${first.tileId}'s lattice by ${describeOffset(offset)}`;
  }
  return undefined;
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
  // The tile's columns and rows that land in the grid.
  const c0 = Math.max(0, -col0);
  const c1 = Math.min(classes.width, grid.width - col0);
  const r0 = Math.max(0, -row0);
  const r1 = Math.min(classes.height, grid.height - row0);
  const values = classes.data;
  const confidences = confidence.data;
  const { classes: held, confidence: heldConfidence, owner } = mosaic;
  for (let r = r0; r < r1; r++) {
    const from = r * classes.width;
    const fromConfidence = r * confidence.width;
    const to = (row0 + r) * grid.width + col0;
    for (let c = c0; c < c1; c++) {
      const value = values[from + c] as number;
      const at = to + c;
      if (value === 0 || !inside[at]) continue;
      const conf = confidences[fromConfidence + c] as number;
      const was = heldConfidence[at] as number;
      if ((owner[at] as number) >= 0 && was !== 255 && was >= conf) continue;
      held[at] = value;
      heldConfidence[at] = conf;
      owner[at] = index;
    }
  }
}

/** The run's confusion matrix, one per tile and one per state (where a region spans several). */
export interface Rollups {
  run: Confusion;
  perTile: Confusion[];
  perState: Confusion[];
}

export function emptyRollups(tiles: number, states: number, classes: number): Rollups {
  return {
    run: emptyConfusion(classes),
    perTile: Array.from({ length: tiles }, () => emptyConfusion(classes)),
    perState: Array.from({ length: states }, () => emptyConfusion(classes)),
  };
}

/** Predictions counted per label in a flat array: values up to this are counted there, any above one by one. */
const Predictions = 16;

function count(c: Confusion, label: number, prediction: number, n = 1): void {
  c.labelled += n;
  if (prediction === 0) return;
  c.mapped += n;
  const row = c.matrix[label - 1] as number[];
  row[prediction - 1] = (row[prediction - 1] as number) + n;
}

/**
 * Adds a mosaic (or a strip of one) to the rollups, each labelled pixel of the region counted once:
 * in the run, in the state `stateOf` puts it in (1-based, 0 for none), and in the tile that owns
 * it in the mosaic. Labelled pixels nobody mapped count as coverage of the run and the state, and
 * of no tile. Pixels are counted into one flat array (run, states, tiles), folded into the
 * matrices at the end: a matrix row per pixel was the largest cost of the mosaic.
 */
export function rollUp(
  rollups: Rollups,
  mosaic: Mosaic,
  labels: Uint8Array,
  inside: Uint8Array,
  stateOf?: Uint8Array,
): void {
  const classes = rollups.run.classes;
  const perTarget = (classes + 1) * Predictions;
  const states = rollups.perState.length;
  const targets = [rollups.run, ...rollups.perState, ...rollups.perTile];
  const counts = new Float64Array(targets.length * perTarget);
  const { classes: predictions, owner } = mosaic;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as number;
    if (l === 0 || l > classes || !inside[i]) continue;
    const p = predictions[i] as number;
    const state = stateOf ? (stateOf[i] as number) : 0;
    const tile = owner[i] as number;
    if (p >= Predictions) {
      count(rollups.run, l, p);
      if (state > 0) count(rollups.perState[state - 1] as Confusion, l, p);
      if (tile >= 0) count(rollups.perTile[tile] as Confusion, l, p);
      continue;
    }
    const cell = l * Predictions + p;
    counts[cell] = (counts[cell] as number) + 1;
    if (state > 0) counts[state * perTarget + cell] = (counts[state * perTarget + cell] as number) + 1;
    if (tile >= 0 && p !== 0) {
      const at = (1 + states + tile) * perTarget + cell;
      counts[at] = (counts[at] as number) + 1;
    }
  }
  for (const [t, target] of targets.entries())
    for (let l = 1; l <= classes; l++)
      for (let p = 0; p < Predictions; p++) {
        const n = counts[t * perTarget + l * Predictions + p] as number;
        if (n > 0) count(target, l, p, n);
      }
}
