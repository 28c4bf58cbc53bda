import type { GridGeo, PixelGrid } from "../contracts/grid.contract.ts";
import { CdlEpsg, transform } from "../grid/crs.ts";
import { densify, type Point, type Rect, rectContains, rectsTouch, ringBounds } from "../grid/planar.ts";

/**
 * The chip grid: square cells of `cells` label-grid pixels anchored on the CDL raster's own origin
 * (the label grid's), so the chips of neighbouring tiles, and of datasets made from the same
 * labels, coincide. Cell (col, row) covers label pixels [col * cells, (col + 1) * cells) across and
 * [row * cells, (row + 1) * cells) down; only cells right and below the origin (col, row >= 0) count.
 */
export interface ChipLattice extends GridGeo {
  cells: number;
}

export interface ChipCell {
  col: number;
  row: number;
}

/** A rectangle in its own CRS: an HLS tile's footprint, or a granule raster's extent. */
export interface Footprint {
  epsg: number;
  rect: Rect;
}

export const chipId = ({ col, row }: ChipCell) => `chip_${col}_${row}`;

/** Row-major order of chips (north to south, then west to east). */
export const byChipPosition = (a: ChipCell, b: ChipCell) => a.row - b.row || a.col - b.col;

function side(lattice: ChipLattice): number {
  return lattice.cells * lattice.pixelSize;
}

/** The cell's corners in EPSG:5070. */
export function chipCorners(lattice: ChipLattice, { col, row }: ChipCell): Point[] {
  const s = side(lattice);
  const x0 = lattice.origin[0] + col * s;
  const y0 = lattice.origin[1] - row * s;
  return [
    [x0, y0],
    [x0 + s, y0],
    [x0 + s, y0 - s],
    [x0, y0 - s],
  ];
}

/** A footprint's bounds in EPSG:5070 (its outline densified, so curved edges are inside). */
export function albersBounds(footprint: Footprint): Rect {
  const [x0, y0, x1, y1] = footprint.rect;
  const outline = densify(
    [
      [x0, y0],
      [x1, y0],
      [x1, y1],
      [x0, y1],
    ],
    (x1 - x0) / 16,
  );
  const t = transform(footprint.epsg, CdlEpsg);
  return ringBounds(outline.map((p) => t.forward(p)));
}

/** True when the footprint holds the whole cell: its four corners (the cell is small, the footprint convex). */
export function holds(footprint: Footprint, corners: readonly Point[]): boolean {
  const t = transform(CdlEpsg, footprint.epsg);
  return corners.every((p) => rectContains(footprint.rect, t.forward(p)));
}

/** The cells a footprint holds whole, in row-major order. */
export function cellsHeldBy(lattice: ChipLattice, footprint: Footprint): ChipCell[] {
  const [minX, minY, maxX, maxY] = albersBounds(footprint);
  const s = side(lattice);
  const [ox, oy] = lattice.origin;
  const out: ChipCell[] = [];
  for (let row = Math.max(0, Math.floor((oy - maxY) / s)); row <= Math.floor((oy - minY) / s); row++) {
    for (let col = Math.max(0, Math.floor((minX - ox) / s)); col <= Math.floor((maxX - ox) / s); col++) {
      if (holds(footprint, chipCorners(lattice, { col, row }))) out.push({ col, row });
    }
  }
  return out;
}

/**
 * The chips a tile makes. HLS tiles overlap, so a chip id must be made once only: a chip belongs
 * to the first tile, in sorted tile-id order among the dataset's tiles, whose tile-table footprint
 * holds it entirely; and that tile makes it only where its granules' raster (`data`) holds it
 * entirely too. `footprints` has every dataset tile's footprint, by tile id.
 */
export function ownedChips(
  lattice: ChipLattice,
  tileId: string,
  footprints: ReadonlyMap<string, Footprint>,
  data: Footprint,
): ChipCell[] {
  const own = footprints.get(tileId);
  if (!own) throw new Error(`ownedChips: tile ${tileId} is not among the dataset's tiles`);
  const ownBounds = albersBounds(own);
  const earlier = [...footprints.keys()]
    .filter((t) => t < tileId)
    .sort()
    .map((t) => footprints.get(t) as Footprint)
    .filter((f) => rectsTouch(albersBounds(f), ownBounds));
  return cellsHeldBy(lattice, data).filter((cell) => {
    const corners = chipCorners(lattice, cell);
    return holds(own, corners) && !earlier.some((f) => holds(f, corners));
  });
}

/** The label-grid box that covers the cells (at least one). */
export function boxOf(lattice: ChipLattice, cells: readonly ChipCell[]): PixelGrid {
  const cols = cells.map((c) => c.col);
  const rows = cells.map((c) => c.row);
  const [col0, row0] = [Math.min(...cols), Math.min(...rows)];
  const s = side(lattice);
  return {
    epsg: lattice.epsg,
    origin: [lattice.origin[0] + col0 * s, lattice.origin[1] - row0 * s],
    pixelSize: lattice.pixelSize,
    width: (Math.max(...cols) - col0 + 1) * lattice.cells,
    height: (Math.max(...rows) - row0 + 1) * lattice.cells,
  };
}

/** The cell's pixels of a plane laid on `box`, as a new array. */
export function cutCell<T extends Int16Array | Uint8Array>(
  plane: T,
  box: PixelGrid,
  lattice: ChipLattice,
  cell: ChipCell,
): T {
  const n = lattice.cells;
  const x0 = Math.round((lattice.origin[0] + cell.col * side(lattice) - box.origin[0]) / box.pixelSize);
  const y0 = Math.round((box.origin[1] - (lattice.origin[1] - cell.row * side(lattice))) / box.pixelSize);
  const out = new (plane.constructor as new (n: number) => T)(n * n);
  for (let y = 0; y < n; y++) {
    const from = (y0 + y) * box.width + x0;
    out.set(plane.subarray(from, from + n), y * n);
  }
  return out;
}
