import { describe, expect, it } from "vitest";
import {
  clipRingToRect,
  densify,
  polygonTouchesRect,
  type Rect,
  ringBounds,
  ringCentroid,
  ringsContain,
  segmentTouchesRect,
} from "../../lib/grid/planar.ts";

const square = (x0: number, y0: number, size: number) =>
  [
    [x0, y0],
    [x0 + size, y0],
    [x0 + size, y0 + size],
    [x0, y0 + size],
    [x0, y0],
  ] as const;

describe("planar geometry", () => {
  const rect: Rect = [0, 0, 10, 10];

  it("finds polygon and rectangle overlap in each way they can meet", () => {
    expect(polygonTouchesRect([square(5, 5, 10)], rect)).toBe(true); // corners overlap
    expect(polygonTouchesRect([square(2, 2, 2)], rect)).toBe(true); // polygon inside
    expect(polygonTouchesRect([square(-5, -5, 30)], rect)).toBe(true); // rectangle inside
    expect(polygonTouchesRect([square(11, 0, 5)], rect)).toBe(false); // beside
    // A cross through the rectangle with no vertex inside it.
    const bar = [
      [-5, 4],
      [15, 4],
      [15, 6],
      [-5, 6],
    ] as const;
    expect(polygonTouchesRect([bar], rect)).toBe(true);
  });

  it("treats holes as outside", () => {
    const donut = [square(-10, -10, 40), square(-5, -5, 25)];
    expect(ringsContain(donut, [0, 0])).toBe(false);
    expect(ringsContain(donut, [-8, -8])).toBe(true);
    expect(polygonTouchesRect(donut, rect)).toBe(false);
  });

  it("clips segments", () => {
    expect(segmentTouchesRect([-1, -1], [11, 11], rect)).toBe(true);
    expect(segmentTouchesRect([-1, 5], [-0.5, 5], rect)).toBe(false);
    expect(segmentTouchesRect([10, 20], [10, 10], rect)).toBe(true); // touches the corner
  });

  it("densifies without moving the ring", () => {
    const dense = densify(square(0, 0, 1), 0.25);
    expect(dense.length).toBe(16);
    expect(dense.every(([x, y]) => x >= 0 && x <= 1 && y >= 0 && y <= 1)).toBe(true);
  });

  it("clips a ring to a rectangle, its centre moving with the part kept", () => {
    // A diamond half inside the rectangle's right edge: the part kept is a pentagon-like wedge.
    const diamond = [
      [10, 0],
      [20, 10],
      [10, 20],
      [0, 10],
    ] as const;
    const kept = clipRingToRect(diamond, [0, 0, 10, 20]);
    expect(ringBounds(kept)).toEqual([0, 0, 10, 20]);
    const [cx, cy] = ringCentroid(kept);
    expect(cy).toBeCloseTo(10, 9);
    expect(cx).toBeCloseTo(20 / 3, 9); // the triangle (10,0) (10,20) (0,10)
    expect(ringCentroid(diamond)).toEqual([10, 10]);
    expect(clipRingToRect(square(20, 20, 5), rect)).toEqual([]);
    expect(clipRingToRect(square(2, 2, 2), rect)).toEqual(square(2, 2, 2).slice());
  });
});
