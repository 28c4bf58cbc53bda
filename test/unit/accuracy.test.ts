import { describe, expect, it } from "vitest";
import { accumulate, emptyConfusion, metrics } from "../../lib/accuracy/confusion.ts";
import { seededRandom } from "../../lib/random.ts";
import { createMosaic, emptyRollups, pasteTile, rollUp, unionGrid } from "../../lib/report/mosaic.ts";

/** The obvious way, class by class over all pixels, to check the matrix-based one against. */
function naive(labels: Uint8Array, predictions: Uint8Array, classes: number) {
  const iou: number[] = [];
  const acc: number[] = [];
  let correct = 0;
  let mapped = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] && predictions[i]) {
      mapped++;
      if (labels[i] === predictions[i]) correct++;
    }
  }
  for (let k = 1; k <= classes; k++) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < labels.length; i++) {
      if (!labels[i] || !predictions[i]) continue;
      if (labels[i] === k && predictions[i] === k) tp++;
      else if (predictions[i] === k) fp++;
      else if (labels[i] === k) fn++;
    }
    iou.push(tp + fp + fn ? tp / (tp + fp + fn) : Number.NaN);
    acc.push(tp + fn ? tp / (tp + fn) : Number.NaN);
  }
  const mean = (v: number[]) =>
    v.filter((x) => !Number.isNaN(x)).reduce((a, b, _, all) => a + b / all.length, 0);
  return { aAcc: correct / mapped, iou, acc, mIoU: mean(iou), mAcc: mean(acc) };
}

describe("accuracy", () => {
  it("agrees with a straightforward second implementation on random maps", () => {
    const random = seededRandom(77);
    for (let trial = 0; trial < 5; trial++) {
      const n = 5000;
      const labels = Uint8Array.from({ length: n }, () =>
        random() < 0.1 ? 0 : 1 + Math.floor(random() * 13),
      );
      // Mostly right, with unmapped pixels and classes that never occur.
      const predictions = labels.map((l) =>
        random() < 0.05 ? 0 : random() < 0.7 ? l : 1 + Math.floor(random() * 6),
      );
      const confusion = emptyConfusion(13);
      accumulate(confusion, labels, predictions);
      const m = metrics(confusion);
      const expected = naive(labels, predictions, 13);
      expect(m.aAcc).toBeCloseTo(expected.aAcc, 12);
      expect(m.mIoU).toBeCloseTo(expected.mIoU, 12);
      expect(m.mAcc).toBeCloseTo(expected.mAcc, 12);
      m.perClass.forEach((c, k) => {
        if (Number.isNaN(expected.iou[k] as number)) expect(c.iou).toBeNaN();
        else expect(c.iou).toBeCloseTo(expected.iou[k] as number, 12);
      });
    }
  });
});

describe("mosaic", () => {
  const geo = (x: number, y: number) => ({ epsg: 5070, origin: [x, y] as [number, number], pixelSize: 30 });

  it("counts each pixel once: the run matrix is the sum of per-tile matrices, overlaps to the surer tile", () => {
    // Two 4 x 3 tiles overlapping by two columns; the second is surer in the overlap.
    const a = { width: 4, height: 3, geo: geo(0, 90), data: new Uint8Array(12).fill(3) };
    const aConf = { width: 4, height: 3, geo: geo(0, 90), data: new Uint8Array(12).fill(60) };
    const b = { width: 4, height: 3, geo: geo(60, 90), data: new Uint8Array(12).fill(4) };
    const bConf = { width: 4, height: 3, geo: geo(60, 90), data: new Uint8Array(12).fill(80) };
    const grid = unionGrid([
      { ...a.geo, width: 4, height: 3 },
      { ...b.geo, width: 4, height: 3 },
    ]);
    expect(grid).toMatchObject({ origin: [0, 90], width: 6, height: 3 });
    const inside = new Uint8Array(18).fill(1);
    inside[17] = 0; // one pixel outside the region
    const mosaic = createMosaic(grid);
    pasteTile(mosaic, inside, 0, a, aConf);
    pasteTile(mosaic, inside, 1, b, bConf);
    expect(Array.from(mosaic.classes.slice(0, 6))).toEqual([3, 3, 4, 4, 4, 4]);
    expect(mosaic.classes[17]).toBe(0);

    const labels = new Uint8Array(18).fill(4);
    // Two "states": the first two columns, and the rest.
    const stateOf = Uint8Array.from({ length: 18 }, (_, i) => (i % 6 < 2 ? 1 : 2));
    const rollups = emptyRollups(2, 2, 13);
    rollUp(rollups, mosaic, labels, inside, stateOf);
    const { run, perTile, perState } = rollups;
    expect(run.labelled).toBe(17);
    expect(perState.map((c) => c.labelled)).toEqual([6, 11]);
    expect(perState[0]?.matrix[3]?.[2]).toBe(6); // label soybeans, mapped corn by tile a
    // Accumulating a mosaic in two halves gives the same as in one go.
    const halves = emptyRollups(2, 2, 13);
    for (const rows of [
      [0, 1],
      [1, 3],
    ] as const) {
      const at = (a: Uint8Array | Int16Array) => a.slice(rows[0] * 6, rows[1] * 6);
      rollUp(
        halves,
        { ...mosaic, classes: at(mosaic.classes) as Uint8Array, owner: at(mosaic.owner) as Int16Array },
        at(labels) as Uint8Array,
        at(inside) as Uint8Array,
        at(stateOf) as Uint8Array,
      );
    }
    expect(halves).toEqual(rollups);
    const summed = perTile[0]?.matrix.map((row, i) =>
      row.map((v, j) => v + (perTile[1]?.matrix[i]?.[j] ?? 0)),
    );
    expect(summed).toEqual(run.matrix);
    expect(run.mapped).toBe(17);
    expect((perTile[0]?.mapped ?? 0) + (perTile[1]?.mapped ?? 0)).toBe(17);
    expect(perTile[1]?.mapped).toBe(11);
  });
});
