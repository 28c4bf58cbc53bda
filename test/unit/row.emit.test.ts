import { describe, expect, it } from "vitest";
import { emitRows } from "../../lib/pipeline/row.emit.mjs";
import { seededRandom } from "../../lib/random.ts";

const classes = 13;
const classIds = Array.from({ length: classes }, (_, i) => i + 1);

/** The confidence in percent straight from its definition: Math.exp summed in double, in class order. */
function exactPercent(logits: number[]): number {
  const max = Math.max(...logits);
  const z = logits.reduce((s, v) => s + Math.exp(v - max), 0);
  return Math.round(Math.fround(1 / z) * 100);
}

/** One row of pixels, each covered once, as emitRows takes it: planar [class][x]. */
function emit(pixels: number[][]) {
  const width = pixels.length;
  const sum = new Float32Array(classes * width);
  pixels.forEach((logits, x) => {
    logits.forEach((v, c) => {
      sum[c * width + x] = v;
    });
  });
  return emitRows({
    sums: [sum],
    counts: [new Uint16Array(width).fill(1)],
    valid: new Uint8Array(width).fill(1),
    classes,
    classIds,
  });
}

describe("emitRows' confidence", () => {
  it("is the exact percent, also where the top probability sits on a rounding edge", () => {
    const random = seededRandom(3);
    const pixels: number[][] = [];
    // Two leading classes whose probability lands within a hair of k + 0.5 percent, the rest far below.
    for (let k = 50; k < 100; k++)
      for (const hair of [-1e-9, -1e-12, 0, 1e-12, 1e-9]) {
        const p = (k + 0.5) / 100 + hair;
        const logits = Array.from({ length: classes }, () => -30 - random() * 10);
        logits[0] = Math.fround(Math.log(p / (1 - p)));
        logits[1] = 0;
        pixels.push(logits.map((v) => Math.fround(v)));
      }
    // Random spreads, small and large, and values that are not finite.
    for (let i = 0; i < 20_000; i++) {
      const spread = [0.1, 1, 5, 40][i % 4] as number;
      pixels.push(Array.from({ length: classes }, () => Math.fround((random() - 0.5) * spread)));
    }
    pixels.push(Array.from({ length: classes }, (_, c) => (c === 4 ? 0 : Number.NEGATIVE_INFINITY)));
    pixels.push(Array.from({ length: classes }, (_, c) => (c === 2 ? Number.NaN : 1)));
    const { confidence } = emit(pixels);
    const wrong = pixels.filter((logits, x) => confidence[x] !== (exactPercent(logits) & 255));
    expect(wrong).toEqual([]);
    // The edge cases do reach both sides of their edges.
    expect(new Set(confidence.subarray(0, 250)).size).toBeGreaterThan(40);
  });
});
