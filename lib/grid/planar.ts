/** Planar geometry on projected coordinates: what tile cover needs, and no more. */

export type Point = readonly [number, number];
/** A ring as a closed or open list of points; polygons are outer ring then holes (even-odd). */
export type Ring = readonly Point[];
export type Rect = readonly [minX: number, minY: number, maxX: number, maxY: number];

export function rectContains(rect: Rect, [x, y]: Point): boolean {
  return x >= rect[0] && x <= rect[2] && y >= rect[1] && y <= rect[3];
}

/** Even-odd point in polygon over all rings, so holes count as outside. */
export function ringsContain(rings: readonly Ring[], [x, y]: Point): boolean {
  let inside = false;
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i] as Point;
      const [xj, yj] = ring[j] as Point;
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

/** Whether segment a-b touches the rectangle (Liang-Barsky clipping). */
export function segmentTouchesRect(a: Point, b: Point, rect: Rect): boolean {
  let t0 = 0;
  let t1 = 1;
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const edges: [number, number][] = [
    [-dx, a[0] - rect[0]],
    [dx, rect[2] - a[0]],
    [-dy, a[1] - rect[1]],
    [dy, rect[3] - a[1]],
  ];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return false;
    } else {
      const t = q / p;
      if (p < 0) t0 = Math.max(t0, t);
      else t1 = Math.min(t1, t);
      if (t0 > t1) return false;
    }
  }
  return true;
}

/** Whether a polygon (outer ring and holes) and a rectangle share any point. */
export function polygonTouchesRect(rings: readonly Ring[], rect: Rect): boolean {
  for (const ring of rings) {
    for (let i = 0; i < ring.length; i++) {
      const a = ring[i] as Point;
      const b = ring[(i + 1) % ring.length] as Point;
      if (segmentTouchesRect(a, b, rect)) return true;
    }
  }
  // No boundary inside the rectangle: it is wholly inside the polygon or wholly outside.
  return ringsContain(rings, [(rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2]);
}

export function ringBounds(ring: Ring): Rect {
  let minX = Number.POSITIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (const [x, y] of ring) {
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  }
  return [minX, minY, maxX, maxY];
}

export function rectsTouch(a: Rect, b: Rect): boolean {
  return a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
}

/** Inserts points so that no segment is longer than `step` (in each axis), keeping curved edges curved once projected. */
export function densify(closedOrOpen: Ring, step: number): Point[] {
  const first = closedOrOpen[0];
  const last = closedOrOpen[closedOrOpen.length - 1];
  const ring =
    first && last && first[0] === last[0] && first[1] === last[1] ? closedOrOpen.slice(0, -1) : closedOrOpen;
  const out: Point[] = [];
  for (let i = 0; i < ring.length; i++) {
    const a = ring[i] as Point;
    const b = ring[(i + 1) % ring.length] as Point;
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(b[0] - a[0]), Math.abs(b[1] - a[1])) / step));
    for (let k = 0; k < n; k++) out.push([a[0] + ((b[0] - a[0]) * k) / n, a[1] + ((b[1] - a[1]) * k) / n]);
  }
  return out;
}

/**
 * The part of a ring inside a rectangle (Sutherland-Hodgman against each edge in turn): exact for
 * a convex ring such as a projected tile square; empty when they do not meet.
 */
export function clipRingToRect(ring: Ring, rect: Rect): Point[] {
  const edges: ((p: Point) => number)[] = [
    (p) => p[0] - rect[0],
    (p) => rect[2] - p[0],
    (p) => p[1] - rect[1],
    (p) => rect[3] - p[1],
  ];
  let out: Point[] = [...ring];
  for (const inside of edges) {
    const input = out;
    out = [];
    for (let i = 0; i < input.length; i++) {
      const a = input[i] as Point;
      const b = input[(i + 1) % input.length] as Point;
      const [da, db] = [inside(a), inside(b)];
      if (da >= 0) out.push(a);
      if (da >= 0 !== db >= 0) {
        const t = da / (da - db);
        out.push([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]);
      }
    }
  }
  return out;
}

/** A ring's area-weighted centre (shoelace); the mean of its points for a degenerate ring. */
export function ringCentroid(ring: Ring): Point {
  let area = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < ring.length; i++) {
    const [x0, y0] = ring[i] as Point;
    const [x1, y1] = ring[(i + 1) % ring.length] as Point;
    const cross = x0 * y1 - x1 * y0;
    area += cross;
    cx += (x0 + x1) * cross;
    cy += (y0 + y1) * cross;
  }
  if (Math.abs(area) < 1e-9) {
    const n = Math.max(1, ring.length);
    return [ring.reduce((s, p) => s + p[0], 0) / n, ring.reduce((s, p) => s + p[1], 0) / n];
  }
  return [cx / (3 * area), cy / (3 * area)];
}
