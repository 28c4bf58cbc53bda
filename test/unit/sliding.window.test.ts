import { describe, expect, it } from "vitest";
import { accumulate, emptyConfusion, metrics } from "../../lib/accuracy/confusion.ts";
import { Class } from "../../lib/cdl/classes.ts";
import { argmaxRow, RowAccumulator, windowStarts } from "../../lib/pipeline/sliding.window.ts";
import { seededRandom } from "../../lib/random.ts";

describe("sliding windows", () => {
  it("places windows as mmsegmentation's slide_inference does", () => {
    expect(windowStarts(224, 224, 112)).toEqual([0]);
    expect(windowStarts(448, 224, 112)).toEqual([0, 112, 224]);
    // The last window is moved back to end at the edge.
    expect(windowStarts(500, 224, 112)).toEqual([0, 112, 224, 276]);
    expect(windowStarts(3660, 224, 112).at(-1)).toBe(3660 - 224);
    expect(() => windowStarts(200, 224, 112)).toThrow("shorter than the 224 px window");
  });

  it("averages overlapping logits exactly as a direct sum over the whole raster, holding few rows", () => {
    const width = 23;
    const height = 19;
    const size = 8;
    const stride = 5;
    const classes = 3;
    const random = seededRandom(42);
    const xs = windowStarts(width, size, stride);
    const ys = windowStarts(height, size, stride);
    const windows = ys.flatMap((y) =>
      xs.map((x) => ({
        x,
        y,
        logits: Float32Array.from({ length: classes * size * size }, () => random() * 4 - 2),
      })),
    );

    // Direct: full-size sums and counts.
    const sum = new Float64Array(width * height * classes);
    const count = new Uint16Array(width * height);
    for (const w of windows) {
      for (let dy = 0; dy < size; dy++) {
        for (let dx = 0; dx < size; dx++) {
          const p = (w.y + dy) * width + w.x + dx;
          count[p] = (count[p] as number) + 1;
          for (let c = 0; c < classes; c++)
            sum[p * classes + c] =
              (sum[p * classes + c] as number) + (w.logits[c * size * size + dy * size + dx] as number);
        }
      }
    }

    // Streaming, emitting rows as soon as no later window reaches them.
    const accumulator = new RowAccumulator(width, classes);
    let emitted = 0;
    let maxHeld = 0;
    ys.forEach((y, r) => {
      for (const w of windows.filter((v) => v.y === y)) accumulator.add(w.logits, w.x, w.y, size);
      maxHeld = Math.max(maxHeld, accumulator.heldRows);
      const until = ys[r + 1] ?? height;
      for (; emitted < until; emitted++) {
        const { mean, count: n } = accumulator.take(emitted);
        const { best } = argmaxRow(mean, classes, width);
        for (let x = 0; x < width; x++) {
          const p = emitted * width + x;
          expect(n[x]).toBe(count[p]);
          for (let c = 0; c < classes; c++)
            expect(mean[x * classes + c]).toBeCloseTo(
              (sum[p * classes + c] as number) / (count[p] as number),
              5,
            );
          const direct = [0, 1, 2].reduce(
            (b, c) => ((sum[p * classes + c] as number) > (sum[p * classes + b] as number) ? c : b),
            0,
          );
          expect(best[x]).toBe(direct);
        }
      }
    });
    expect(emitted).toBe(height);
    expect(maxHeld).toBeLessThanOrEqual(size + stride);
  });
});

describe("accuracy metrics", () => {
  it("computes IoU, Acc, aAcc, mIoU and mAcc on a hand-built case, with unmapped pixels as coverage", () => {
    // Labels: 4 corn, 2 soy, 1 water, 1 unlabelled. Predictions: corn right 3 times, once soy;
    // soy once right, once not mapped; water predicted corn.
    const labels = Uint8Array.from([
      Class.Corn,
      Class.Corn,
      Class.Corn,
      Class.Corn,
      Class.Soybeans,
      Class.Soybeans,
      Class.Water,
      0,
    ]);
    const predictions = Uint8Array.from([
      Class.Corn,
      Class.Corn,
      Class.Corn,
      Class.Soybeans,
      Class.Soybeans,
      0,
      Class.Corn,
      Class.Corn,
    ]);
    const confusion = emptyConfusion(13);
    accumulate(confusion, labels, predictions);
    const m = metrics(confusion);
    expect(confusion.labelled).toBe(7);
    expect(confusion.mapped).toBe(6);
    expect(m.coverage).toBeCloseTo(6 / 7);
    expect(m.aAcc).toBeCloseTo(4 / 6);
    const corn = m.perClass[Class.Corn - 1];
    const soy = m.perClass[Class.Soybeans - 1];
    const water = m.perClass[Class.Water - 1];
    expect(corn?.iou).toBeCloseTo(3 / (3 + 1 + 1)); // TP 3, FP 1 (water), FN 1 (as soy)
    expect(corn?.acc).toBeCloseTo(3 / 4);
    expect(soy?.iou).toBeCloseTo(1 / 2); // TP 1, FP 1 (corn as soy)
    expect(soy?.acc).toBeCloseTo(1 / 1);
    expect(water?.iou).toBe(0);
    expect(m.mIoU).toBeCloseTo((3 / 5 + 1 / 2 + 0) / 3);
    expect(m.mAcc).toBeCloseTo((3 / 4 + 1 + 0) / 3);
  });
});
