import { describe, expect, it } from "vitest";
import { pixelCentresIn, transform } from "../../lib/grid/crs.ts";
import { emptyPlan, planRows } from "../../lib/pipeline/warp.ts";

describe("warp plans in bands of rows", () => {
  // A UTM zone 19 grid and an Albers box over part of it, off the lattice step on both axes.
  const source = {
    epsg: 32619,
    origin: [199980, 4700040] as [number, number],
    pixelSize: 30,
    width: 300,
    height: 260,
  };
  const [x, y] = transform(32619, 5070).forward([199980 + 3000, 4700040 - 2400]);
  const target = {
    epsg: 5070,
    origin: [Math.round(x / 30) * 30 - 15, Math.round(y / 30) * 30 + 15] as [number, number],
    pixelSize: 30,
    width: 301,
    height: 203,
  };

  it("gives a band of rows the pixel centres the whole raster gets", () => {
    const t = transform(5070, 32619);
    const whole = pixelCentresIn(target, t);
    for (const [from, to] of [
      [0, 1],
      [15, 17],
      [16, 33],
      [190, 203],
      [202, 203],
    ] as [number, number][]) {
      const band = pixelCentresIn(target, t, 16, [from, to]);
      expect(band.x).toEqual(whole.x.subarray(from * target.width, to * target.width));
      expect(band.y).toEqual(whole.y.subarray(from * target.width, to * target.width));
    }
  });

  it("is the same plan computed whole or in shares of rows, with pixels outside the source marked", () => {
    const whole = emptyPlan(source, target);
    planRows(whole, 0, target.height);
    const shared = emptyPlan(source, target);
    for (const [from, to] of [
      [0, 37],
      [37, 38],
      [38, 150],
      [150, 203],
    ])
      planRows(shared, from as number, to as number);
    for (const key of ["corner", "fx", "fy", "nearest"] as const) expect(shared[key]).toEqual(whole[key]);
    const outside = whole.nearest.filter((n) => n < 0).length;
    // The box runs past the source's east and south edges.
    expect(outside).toBeGreaterThan(0);
    expect(outside).toBeLessThan(whole.nearest.length);
    expect(whole.corner.every((c, i) => c < 0 === (whole.nearest[i] as number) < 0)).toBe(true);
  });
});
