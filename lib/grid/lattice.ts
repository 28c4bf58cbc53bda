import { NationalCdlGrid } from "./crs.ts";
import type { Point, Rect } from "./planar.ts";

/** A north-up grid of square pixels: origin is the upper-left corner of the first pixel. */
export interface PixelGrid {
  origin: [number, number];
  pixelSize: number;
  width: number;
  height: number;
}

/** Offsets under a millimetre are noise from writers that print coordinates in decimal. */
const ToleranceMetres = 1e-3;

/**
 * How far `point` sits off the lattice of `pixelSize` through `reference`, per axis, in metres
 * from the nearest lattice line (more than minus half a pixel, at most plus half: a shift of half a
 * pixel either way reads +15 m on a 30 m lattice); [0, 0] when it is on the lattice.
 */
export function latticeOffset(point: Point, reference: Point, pixelSize: number): [number, number] {
  const off = (d: number) => {
    const r = d - Math.ceil(d / pixelSize - 0.5) * pixelSize;
    return Math.abs(r) < ToleranceMetres ? 0 : Math.round(r * 1000) / 1000;
  };
  return [off(point[0] - reference[0]), off(point[1] - reference[1])];
}

export function isOnLattice(offset: readonly [number, number]): boolean {
  return offset[0] === 0 && offset[1] === 0;
}

/** An offset for messages: "15 m in x, 0 m in y". */
export function describeOffset([dx, dy]: readonly [number, number]): string {
  return `${dx} m in x, ${dy} m in y`;
}

export function gridBounds(grid: PixelGrid): Rect {
  const [x0, y1] = grid.origin;
  return [x0, y1 - grid.height * grid.pixelSize, x0 + grid.width * grid.pixelSize, y1];
}

/** Whether two rectangles share area (touching edges do not count: no pixel lies on both). */
export function rectsOverlap(a: Rect, b: Rect): boolean {
  return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
}

/** Bounds snapped outward onto the national CDL grid. */
export function snapToNationalGrid([minX, minY, maxX, maxY]: Rect): PixelGrid {
  const { originX, originY, pixelSize } = NationalCdlGrid;
  const x0 = originX + Math.floor((minX - originX) / pixelSize) * pixelSize;
  const x1 = originX + Math.ceil((maxX - originX) / pixelSize) * pixelSize;
  const y1 = originY - Math.floor((originY - maxY) / pixelSize) * pixelSize;
  const y0 = originY - Math.ceil((originY - minY) / pixelSize) * pixelSize;
  return {
    origin: [x0, y1],
    width: Math.round((x1 - x0) / pixelSize),
    height: Math.round((y1 - y0) / pixelSize),
    pixelSize,
  };
}

/**
 * Where `inner` (on the same lattice) sits in `outer`: the column and row of its first pixel
 * (negative when it starts before `outer`) and the part of it inside `outer`, in `outer`'s pixels.
 */
export function windowOf(
  inner: PixelGrid,
  outer: PixelGrid,
): { col0: number; row0: number; window: [number, number, number, number] | undefined } {
  const p = outer.pixelSize;
  const col0 = Math.round((inner.origin[0] - outer.origin[0]) / p);
  const row0 = Math.round((outer.origin[1] - inner.origin[1]) / p);
  const c0 = Math.max(0, col0);
  const r0 = Math.max(0, row0);
  const c1 = Math.min(outer.width, col0 + inner.width);
  const r1 = Math.min(outer.height, row0 + inner.height);
  return { col0, row0, window: c1 > c0 && r1 > r0 ? [c0, r0, c1, r1] : undefined };
}
