import type { Ring } from "../grid/planar.ts";
import { fillSpans, type RowSpans } from "./row.spans.ts";

type ScanGrid = { origin: [number, number]; pixelSize: number; width: number; height: number };

/** A polygon's non-horizontal edges (x0, y0, x1, y1 each), sorted by their lower end, and their y extent. */
export interface RingEdges {
  edges: Float64Array;
  minY: number;
  maxY: number;
}

export function ringEdges(rings: readonly Ring[]): RingEdges {
  const list: [number, number, number, number][] = [];
  for (const ring of rings) {
    for (let i = 0; i < ring.length; i++) {
      const a = ring[i] as readonly [number, number];
      const b = ring[(i + 1) % ring.length] as readonly [number, number];
      if (a[1] !== b[1]) list.push([a[0], a[1], b[0], b[1]]);
    }
  }
  list.sort((p, q) => Math.min(p[1], p[3]) - Math.min(q[1], q[3]));
  const edges = new Float64Array(list.flat());
  let minY = Number.POSITIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (const [, y0, , y1] of list) {
    minY = Math.min(minY, y0, y1);
    maxY = Math.max(maxY, y0, y1);
  }
  return { edges, minY, maxY };
}

/**
 * The pixels of each row of `grid` inside the polygon (even-odd, so holes stay empty; a pixel is
 * inside when its centre is), as spans. Only the edges that reach the grid's rows are scanned, so
 * a strip of a state with thousands of vertices costs its few crossing edges, and a strip beyond
 * the polygon's extent nothing.
 */
export function scanSpans({ edges, minY, maxY }: RingEdges, grid: ScanGrid): RowSpans {
  const { width, height, origin, pixelSize } = grid;
  const spans: RowSpans = Array.from({ length: height }, () => []);
  const top = origin[1] - 0.5 * pixelSize;
  const bottom = origin[1] - (height - 0.5) * pixelSize;
  if (height === 0 || minY > top || maxY < bottom) return spans;
  // Edges whose y range meets the rows' centres; sorted by lower end, so the scan stops early.
  const active: number[] = [];
  for (let e = 0; e < edges.length; e += 4) {
    const y0 = edges[e + 1] as number;
    const y1 = edges[e + 3] as number;
    if (Math.min(y0, y1) > top) break;
    if (Math.max(y0, y1) >= bottom) active.push(e);
  }
  const crossings: number[] = [];
  for (let row = 0; row < height; row++) {
    const y = origin[1] - (row + 0.5) * pixelSize;
    crossings.length = 0;
    for (const e of active) {
      const x0 = edges[e] as number;
      const y0 = edges[e + 1] as number;
      const x1 = edges[e + 2] as number;
      const y1 = edges[e + 3] as number;
      if (y0 > y !== y1 > y) crossings.push(x0 + ((y - y0) * (x1 - x0)) / (y1 - y0));
    }
    crossings.sort((p, q) => p - q);
    const out = spans[row] as number[];
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      // Pixel centres strictly between the two crossings.
      const from = Math.max(0, Math.ceil(((crossings[k] as number) - origin[0]) / pixelSize - 0.5));
      const to = Math.min(
        width - 1,
        Math.floor(((crossings[k + 1] as number) - origin[0]) / pixelSize - 0.5),
      );
      if (to >= from) out.push(from, to + 1);
    }
  }
  return spans;
}

/**
 * Burns polygons (rings in the grid's CRS, even-odd so holes stay empty) into a 0/1 mask: a pixel
 * is inside when its centre is. One scanline per row, so a state outline with thousands of
 * vertices over a raster of hundreds of millions of pixels stays fast.
 */
export function rasterizeRings(rings: readonly Ring[], grid: ScanGrid): Uint8Array {
  const mask = new Uint8Array(grid.width * grid.height);
  fillSpans(mask, scanSpans(ringEdges(rings), grid), 0, grid.width, 1);
  return mask;
}
