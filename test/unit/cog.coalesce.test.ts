import { describe, expect, it } from "vitest";
import { coalesce } from "../../lib/raster/cog.window.ts";

const tile = (offset: number, length: number, name: string) => ({ offset, length, name });

describe("coalescing a window's tiles into ranged GETs", () => {
  it("joins tiles adjacent in the file, or a small gap apart, whatever order they are asked in", () => {
    const ranges = coalesce([tile(2000, 500, "c"), tile(0, 1000, "a"), tile(1000, 1000, "b")]);
    expect(ranges).toEqual([
      { offset: 0, length: 2500, tiles: [tile(0, 1000, "a"), tile(1000, 1000, "b"), tile(2000, 500, "c")] },
    ]);
    const gap = coalesce([tile(0, 100, "a"), tile(100 + (64 << 10), 100, "b")]);
    expect(gap.map((r) => [r.offset, r.length])).toEqual([[0, 200 + (64 << 10)]]);
  });

  it("starts a new GET past a large gap, or where one GET would pass 8 MiB", () => {
    const apart = coalesce([tile(0, 100, "a"), tile(101 + (64 << 10), 100, "b")]);
    expect(apart.map((r) => r.tiles.map((t) => t.name))).toEqual([["a"], ["b"]]);
    const mib = 1 << 20;
    const big = coalesce(Array.from({ length: 20 }, (_, k) => tile(k * mib, mib, `t${k}`)));
    expect(big.map((r) => r.length)).toEqual([8 * mib, 8 * mib, 4 * mib]);
    expect(big.flatMap((r) => r.tiles).length).toBe(20);
  });

  it("keeps a tile that lies inside the range already (a repeated offset) without growing it", () => {
    const ranges = coalesce([tile(0, 1000, "a"), tile(0, 1000, "same")]);
    expect(ranges).toEqual([{ offset: 0, length: 1000, tiles: [tile(0, 1000, "a"), tile(0, 1000, "same")] }]);
  });
});
