import { describe, expect, it } from "vitest";
import { resolveTiling, TilingParser } from "../../lib/contracts/tiling.contract.ts";
import { axisWeights } from "../../lib/pipeline/blended.window.ts";
import { addWindows, meanInPlace } from "../../lib/pipeline/row.emit.mjs";
import { windowStarts } from "../../lib/pipeline/sliding.window.ts";

/** Per pixel of an axis: how many windows keep it, the sum of their weights, the smallest weight. */
function coverage(length: number, size: number, stride: number, border: number) {
  const starts = windowStarts(length, size, stride);
  const weights = axisWeights(starts, size, border);
  const kept = new Uint16Array(length);
  const sum = new Float64Array(length);
  const least = new Float64Array(length).fill(Number.POSITIVE_INFINITY);
  for (const x0 of starts) {
    const w = weights.get(x0) as Float32Array;
    for (let d = 0; d < size; d++) {
      const v = w[d] as number;
      if (v === 0) continue;
      kept[x0 + d] = (kept[x0 + d] as number) + 1;
      sum[x0 + d] = (sum[x0 + d] as number) + v;
      least[x0 + d] = Math.min(least[x0 + d] as number, v);
    }
  }
  return { starts, weights, kept, sum, least };
}

describe("blended tiling's geometry", () => {
  it("has TerraTorch's defaults at 224 px, and 2.84 times fewer windows on a 3660 px tile than the seed's slide", () => {
    const blended = resolveTiling({ size: 224, stride: 112 }, { kind: "blended" });
    expect(blended).toEqual({ kind: "blended", size: 224, stride: 192, border: 8 });
    expect(resolveTiling({ size: 224, stride: 112 }, {})).toEqual({ kind: "mmseg", size: 224, stride: 112 });
    // The manifest's kind is the default, the choice wins over it.
    expect(resolveTiling({ size: 224, stride: 112 }, {}, "blended").kind).toBe("blended");
    expect(resolveTiling({ size: 224, stride: 112 }, { kind: "mmseg" }, "blended").kind).toBe("mmseg");
    // TerraTorch's windows on a 3660 px axis: 0, 192, ..., 3264, then 3436 at the edge.
    const across = windowStarts(3660, 224, 192);
    expect(across).toHaveLength(19);
    expect(across.slice(-2)).toEqual([3264, 3436]);
    const slide = windowStarts(3660, 224, 112).length;
    expect(slide).toBe(32);
    // Per tile: 1024 windows against 361, a ratio of 2.84 (not 3.2; a third would be 341).
    expect((slide * slide) / (across.length * across.length)).toBeCloseTo(2.84, 2);
  });

  it("refuses a border that would leave pixels between windows without logits, naming the field", () => {
    const parsed = TilingParser.safeParse({ kind: "blended", size: 224, stride: 192, border: 17 });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(["border"]);
    expect(TilingParser.safeParse({ kind: "blended", size: 224, stride: 192, border: 16 }).success).toBe(
      true,
    );
    expect(TilingParser.safeParse({ kind: "mmseg", size: 224, stride: 225 }).error?.issues[0]?.path).toEqual([
      "stride",
    ]);
  });

  it.each([
    [3660, 224, 192, 8],
    [4527, 224, 192, 8],
    [224, 224, 192, 8],
    [225, 224, 192, 8],
    [500, 224, 112, 8],
    [700, 224, 60, 8],
    [90, 32, 27, 1],
    [100, 32, 16, 8],
  ])(
    "covers every pixel of a %i px axis (window %i, stride %i, border %i) with weights > 0 that sum to one",
    (length, size, stride, border) => {
      const { starts, weights, kept, sum, least } = coverage(length, size, stride, border);
      // Where no two windows are closer than half a kept span, no three meet and the two ramps over
      // each overlap are complementary: the weights sum to one before any normalisation.
      const regular = starts.slice(1).every((s, i) => 2 * (s - (starts[i] as number)) >= size - 2 * border);
      if (length === 3660) expect(regular).toBe(true);
      for (let x = 0; x < length; x++) {
        expect(kept[x], `pixel ${x}`).toBeGreaterThan(0);
        expect(least[x], `pixel ${x}`).toBeGreaterThan(0);
        if (regular) expect(sum[x] as number, `pixel ${x}`).toBeCloseTo(1, 6);
      }
      // The border is dropped only where it faces another window: the raster's edges are kept.
      const first = weights.get(starts[0] as number) as Float32Array;
      const last = weights.get(starts.at(-1) as number) as Float32Array;
      expect(first[0]).toBeGreaterThan(0);
      expect(last[size - 1]).toBeGreaterThan(0);
      if (starts.length > 1 && border > 0) {
        expect(first[size - border]).toBe(0);
        expect(last[border - 1]).toBe(0);
        expect(last[border]).toBeGreaterThan(0);
      }
    },
  );

  it("gives a constant-logit model constant logits over a raster, edges and an uneven last window included: no seams", () => {
    // 700 px: windows at 0, 192, 384 and 476, whose overlap with the one before is over half a span.
    const [width, height, size, classes] = [700, 450, 224, 3];
    const tiling = resolveTiling({ size, stride: 112 }, { kind: "blended" });
    const xs = windowStarts(width, size, tiling.stride);
    const ys = windowStarts(height, size, tiling.stride);
    const cols = axisWeights(xs, size, tiling.kind === "blended" ? tiling.border : 0);
    const rowWeights = axisWeights(ys, size, tiling.kind === "blended" ? tiling.border : 0);
    const constant = [0.25, -1.5, 3.125];
    // Each window's logits the same everywhere, as a model that ignores its input gives them.
    const logits = new Float32Array(xs.length * classes * size * size);
    for (let w = 0; w < xs.length; w++)
      for (let c = 0; c < classes; c++)
        logits.fill(
          constant[c] as number,
          (w * classes + c) * size * size,
          (w * classes + c + 1) * size * size,
        );
    const sums = Array.from({ length: height }, () => new Float32Array(classes * width));
    const counts = Array.from({ length: height }, () => new Float32Array(width));
    for (const y0 of ys)
      addWindows({
        logits,
        xs,
        sums: sums.slice(y0, y0 + size),
        counts: counts.slice(y0, y0 + size),
        size,
        classes,
        weights: {
          rows: rowWeights.get(y0) as Float32Array,
          cols: xs.map((x0) => cols.get(x0) as Float32Array),
        },
      });
    let worst = 0;
    let least = Number.POSITIVE_INFINITY;
    for (let y = 0; y < height; y++) {
      const sum = sums[y] as Float32Array;
      const count = counts[y] as Float32Array;
      for (let x = 0; x < width; x++) least = Math.min(least, count[x] as number);
      meanInPlace(sum, count, classes);
      for (let c = 0; c < classes; c++)
        for (let x = 0; x < width; x++)
          worst = Math.max(worst, Math.abs((sum[c * width + x] as number) - (constant[c] as number)));
    }
    // Every pixel covered, by some weight well above 0; then a few float32 roundings of 3.125 (2.4e-7 each), no more.
    expect(least).toBeGreaterThan(0.5);
    expect(worst).toBeLessThan(2e-6);
  });
});
