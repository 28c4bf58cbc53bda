import { describe, expect, it } from "vitest";
import type { Ring } from "../../lib/grid/planar.ts";
import { seededRandom } from "../../lib/random.ts";
import { rasterizeRings, ringEdges, scanSpans } from "../../lib/raster/rasterize.ts";
import {
  fillSpans,
  intersectSpans,
  type RowSpans,
  spansMeet,
  subtractSpans,
} from "../../lib/raster/row.spans.ts";

const grid = { origin: [0, 300] as [number, number], pixelSize: 10, width: 40, height: 30 };

/** A star-like polygon with a hole: crossing edges, several spans a row. */
function polygon(seed: number): Ring[] {
  const random = seededRandom(seed);
  const outer: [number, number][] = [];
  for (let k = 0; k < 14; k++) {
    const a = (k / 14) * 2 * Math.PI;
    const r = 60 + random() * 110;
    outer.push([200 + r * Math.cos(a), 150 + r * Math.sin(a)]);
  }
  const hole: [number, number][] = [
    [180, 130],
    [230, 135],
    [220, 180],
  ];
  return [outer, hole];
}

function maskOf(spans: RowSpans, col0 = 0, width = grid.width): Uint8Array {
  const mask = new Uint8Array(width * spans.length);
  fillSpans(mask, spans, col0, width, 1);
  return mask;
}

describe("row spans", () => {
  it("give rasterizeRings's pixels, whole or in blocks of columns", () => {
    const rings = polygon(1);
    const spans = scanSpans(ringEdges(rings), grid);
    const whole = rasterizeRings(rings, grid);
    expect(whole.reduce((a, b) => a + b, 0)).toBeGreaterThan(200);
    expect(maskOf(spans)).toEqual(whole);
    // Columns 16..28 of the same rows.
    const block = maskOf(spans, 16, 12);
    for (let r = 0; r < grid.height; r++)
      expect(Array.from(block.subarray(r * 12, (r + 1) * 12))).toEqual(
        Array.from(whole.subarray(r * grid.width + 16, r * grid.width + 28)),
      );
  });

  it("meet a block of columns exactly when its mask has a pixel set", () => {
    const spans = scanSpans(ringEdges(polygon(1)), grid);
    for (let col0 = 0; col0 < grid.width; col0 += 3)
      for (const width of [1, 4, 9])
        expect(spansMeet(spans, col0, width), `${col0}+${width}`).toBe(
          maskOf(spans, col0, width).includes(1),
        );
    expect(spansMeet(spans, 0, grid.width)).toBe(true);
  });

  it("are empty for rows beyond the polygon's extent", () => {
    const far = { ...grid, origin: [0, 5000] as [number, number] };
    expect(scanSpans(ringEdges(polygon(1)), far).every((row) => row.length === 0)).toBe(true);
  });

  it("intersect and subtract as their masks do, pixel by pixel", () => {
    const a = scanSpans(ringEdges(polygon(2)), grid);
    const b = scanSpans(ringEdges(polygon(3)), grid);
    const [ma, mb] = [maskOf(a), maskOf(b)];
    expect(maskOf(intersectSpans(a, b))).toEqual(ma.map((v, i) => v & (mb[i] as number)));
    expect(maskOf(subtractSpans(a, b))).toEqual(ma.map((v, i) => v & (1 - (mb[i] as number))));
    expect(maskOf(subtractSpans(a, b)).some((v) => v === 1)).toBe(true);
    expect(maskOf(intersectSpans(a, b)).some((v) => v === 1)).toBe(true);
  });

  it("give each pixel to the first of overlapping polygons when the earlier ones are subtracted", () => {
    const mask = new Uint8Array(grid.width * grid.height);
    const [a, b] = [polygon(2), polygon(3)].map((p) => scanSpans(ringEdges(p), grid)) as [RowSpans, RowSpans];
    fillSpans(mask, a, 0, grid.width, 1);
    fillSpans(mask, subtractSpans(b, a), 0, grid.width, 2);
    const [ma, mb] = [maskOf(a), maskOf(b)];
    expect(mask).toEqual(ma.map((v, i) => (v ? 1 : mb[i] ? 2 : 0)));
  });
});
