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
