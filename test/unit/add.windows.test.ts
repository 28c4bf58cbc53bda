import { describe, expect, it } from "vitest";
import { addWindows } from "../../lib/pipeline/row.emit.mjs";
import { seededRandom } from "../../lib/random.ts";

// Windows of 32 px over a 150 px row band: aligned, overlapping by half, and a last one clamped.
const size = 32;
const classes = 5;
const width = 150;

/** Sums as one window after another adds them, each addition stored as float32. */
function oneByOne(logits: Float32Array, xs: number[]) {
  const sums = Array.from({ length: size }, () => new Float32Array(classes * width));
  const counts = Array.from({ length: size }, () => new Uint16Array(width));
  xs.forEach((x0, w) => {
    for (let dy = 0; dy < size; dy++)
      for (let c = 0; c < classes; c++)
        for (let dx = 0; dx < size; dx++) {
          const at = c * width + x0 + dx;
          const sum = sums[dy] as Float32Array;
          sum[at] = (sum[at] as number) + (logits[((w * classes + c) * size + dy) * size + dx] as number);
        }
    for (let dy = 0; dy < size; dy++)
      for (let dx = 0; dx < size; dx++) {
        const count = counts[dy] as Uint16Array;
        count[x0 + dx] = (count[x0 + dx] as number) + 1;
      }
  });
  return { sums, counts };
}

describe("addWindows", () => {
  it("gives, bit for bit, the sums and counts of adding window after window", () => {
    const random = seededRandom(5);
    for (const xs of [[0, 16, 32, 48], [64, 80, 96, 112, 118], [118], [0, 50, 100]]) {
      const logits = Float32Array.from(
        { length: xs.length * classes * size * size },
        () => (random() - 0.5) * 1e4,
      );
      const expected = oneByOne(logits, xs);
      // Rows that already hold sums (a window row above added into them), for both.
      const start = oneByOne(logits, xs);
      const sums = start.sums.map((s) => Float32Array.from(s));
      const counts = start.counts.map((c) => Uint16Array.from(c));
      addWindows({ logits, xs, sums, counts, size, classes });
      const twice = { sums: expected.sums.map((s) => Float32Array.from(s)), counts: expected.counts };
      xs.forEach((x0, w) => {
        for (let dy = 0; dy < size; dy++)
          for (let c = 0; c < classes; c++)
            for (let dx = 0; dx < size; dx++) {
              const at = c * width + x0 + dx;
              const sum = twice.sums[dy] as Float32Array;
              sum[at] = (sum[at] as number) + (logits[((w * classes + c) * size + dy) * size + dx] as number);
            }
      });
      for (let dy = 0; dy < size; dy++) {
        expect(
          Buffer.from((sums[dy] as Float32Array).buffer).equals(
            Buffer.from((twice.sums[dy] as Float32Array).buffer),
          ),
        ).toBe(true);
        expect(Array.from(counts[dy] as Uint16Array)).toEqual(
          Array.from(expected.counts[dy] as Uint16Array).map((n) => 2 * n),
        );
      }
    }
  });
});
