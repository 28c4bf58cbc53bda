import { describe, expect, it } from "vitest";
import { latticeOffset, snapToNationalGrid, windowOf } from "../../lib/grid/lattice.ts";

describe("lattice", () => {
  const national: [number, number] = [-2356095, 3172605];

  it("measures the offset from the nearest lattice line, half a pixel reading +15 m", () => {
    expect(latticeOffset([-2356095 + 30 * 7, 3172605 - 30 * 9], national, 30)).toEqual([0, 0]);
    expect(latticeOffset([-2356095 + 30 * 7 + 15, 3172605], national, 30)).toEqual([15, 0]);
    expect(latticeOffset([-2356095 - 15, 3172605 + 10], national, 30)).toEqual([15, 10]);
    expect(latticeOffset([-2356095 + 20, 3172605 - 10], national, 30)).toEqual([-10, -10]);
    // Decimal noise from a writer is not an offset.
    expect(latticeOffset([-2356095.0000004, 3172605], national, 30)).toEqual([0, 0]);
  });

  it("snaps bounds outward and finds one grid inside another", () => {
    const box = snapToNationalGrid([-2356095 + 31, 3172605 - 89, -2356095 + 61, 3172605 - 1]);
    expect(box).toEqual({ origin: [-2356095 + 30, 3172605], pixelSize: 30, width: 2, height: 3 });
    const outer = { origin: [-2356095, 3172605] as [number, number], pixelSize: 30, width: 2, height: 2 };
    expect(windowOf(box, outer)).toEqual({ col0: 1, row0: 0, window: [1, 0, 2, 2] });
    const far = { ...box, origin: [-2356095 + 3000, 3172605] as [number, number] };
    expect(windowOf(far, outer).window).toBeUndefined();
  });
});
