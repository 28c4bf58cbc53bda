import type { MosaicGrid } from "../contracts/grid.contract.ts";
import type { Ring } from "../grid/planar.ts";
import { ringEdges, scanSpans } from "../raster/rasterize.ts";
import { subtractSpans } from "../raster/row.spans.ts";

/**
 * Side of the square cells, in pixels of the run grid, that cut what a region holds outside every
 * state: a multiple of the part alignment (512) and of the mosaic's block width (4096), so a cell's
 * part starts on the sample lattice and is one block column wide.
 */
export const OutsideCellSide = 4096;
/** Rows scanned at once: the spans of a strip are all that is held. */
const ScanRows = 512;

/** A cell with pixels of the region outside every state, and the box of those pixels. */
export interface OutsideCell {
  row: number;
  col: number;
  /** [col0, row0, col1, row1) in the run grid's pixels, inside the cell. */
  window: [number, number, number, number];
}

/**
 * The cells of `grid` holding pixels inside the region's outline and outside every state outline,
 * scanned exactly as the mosaic scans them (pixel centres, even-odd), strip by strip, so a large
 * region costs its crossing edges, not its pixels. In row-major order.
 */
export function outsideCells(grid: MosaicGrid, region: Ring[], states: Ring[][]): OutsideCell[] {
  const p = grid.pixelSize;
  const regionEdges = ringEdges(region);
  const stateEdges = states.map(ringEdges);
  const across = Math.ceil(grid.width / OutsideCellSide);
  const boxes = new Map<number, [number, number, number, number]>();
  for (let row0 = 0; row0 < grid.height; row0 += ScanRows) {
    const rows = Math.min(ScanRows, grid.height - row0);
    const strip = {
      ...grid,
      origin: [grid.origin[0], grid.origin[1] - row0 * p] as [number, number],
      height: rows,
    };
    const top = strip.origin[1];
    const bottom = top - rows * p;
    let outside = scanSpans(regionEdges, strip);
    for (const edges of stateEdges)
      if (edges.minY < top && edges.maxY > bottom) outside = subtractSpans(outside, scanSpans(edges, strip));
    for (const [r, spans] of outside.entries()) {
      const row = row0 + r;
      const base = Math.floor(row / OutsideCellSide) * across;
      for (let k = 0; k < spans.length; k += 2) {
        const from = spans[k] as number;
        const to = spans[k + 1] as number;
        for (let c = Math.floor(from / OutsideCellSide); c * OutsideCellSide < to; c++) {
          const c0 = Math.max(from, c * OutsideCellSide);
          const c1 = Math.min(to, (c + 1) * OutsideCellSide);
          const box = boxes.get(base + c);
          if (!box) boxes.set(base + c, [c0, row, c1, row + 1]);
          else {
            box[0] = Math.min(box[0], c0);
            box[2] = Math.max(box[2], c1);
            box[3] = row + 1;
          }
        }
      }
    }
  }
  return [...boxes.entries()]
    .sort(([a], [b]) => a - b)
    .map(([key, window]) => ({ row: Math.floor(key / across), col: key % across, window }));
}
