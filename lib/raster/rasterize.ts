import type { Ring } from "../grid/planar.ts";

/**
 * Burns polygons (rings in the grid's CRS, even-odd so holes stay empty) into a 0/1 mask: a pixel
 * is inside when its centre is. One scanline per row, so a state outline with thousands of
 * vertices over a raster of hundreds of millions of pixels stays fast.
 */
export function rasterizeRings(
  rings: readonly Ring[],
  grid: { origin: [number, number]; pixelSize: number; width: number; height: number },
): Uint8Array {
  const { width, height, origin, pixelSize } = grid;
  const mask = new Uint8Array(width * height);
  const edges: [number, number, number, number][] = [];
  for (const ring of rings) {
    for (let i = 0; i < ring.length; i++) {
      const a = ring[i] as readonly [number, number];
      const b = ring[(i + 1) % ring.length] as readonly [number, number];
      if (a[1] !== b[1]) edges.push([a[0], a[1], b[0], b[1]]);
    }
  }
  const crossings: number[] = [];
  for (let row = 0; row < height; row++) {
    const y = origin[1] - (row + 0.5) * pixelSize;
    crossings.length = 0;
    for (const [x0, y0, x1, y1] of edges) {
      if (y0 > y !== y1 > y) crossings.push(x0 + ((y - y0) * (x1 - x0)) / (y1 - y0));
    }
    crossings.sort((p, q) => p - q);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      // Pixel centres strictly between the two crossings.
      const from = Math.max(0, Math.ceil(((crossings[k] as number) - origin[0]) / pixelSize - 0.5));
      const to = Math.min(
        width - 1,
        Math.floor(((crossings[k + 1] as number) - origin[0]) / pixelSize - 0.5),
      );
      if (to >= from) mask.fill(1, row * width + from, row * width + to + 1);
    }
  }
  return mask;
}
