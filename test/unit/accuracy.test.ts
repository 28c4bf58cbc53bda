import { describe, expect, it } from "vitest";
import { classAreas } from "../../lib/accuracy/class.areas.ts";
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

  it("gives each class's mapped and CDL area over the same pixels, 0.09 ha per 30 m pixel", () => {
    const confusion = emptyConfusion(13);
    // CDL corn (3): 5 pixels mapped corn, 10 mapped soybeans (4); CDL soybeans: 2 mapped soybeans.
    const labels = new Uint8Array([...new Array(15).fill(3), 4, 4, 0]);
    const predictions = new Uint8Array([...new Array(5).fill(3), ...new Array(10).fill(4), 4, 4, 4]);
    accumulate(confusion, labels, predictions);
    const areas = classAreas(confusion.matrix, 30);
    const corn = areas.find((a) => a.id === 3);
    const soy = areas.find((a) => a.id === 4);
    expect(corn).toMatchObject({ name: "Corn", mappedPixels: 5, cdlPixels: 15 });
    expect(corn?.mappedHa).toBeCloseTo(0.45, 12);
    expect(corn?.cdlHa).toBeCloseTo(1.35, 12);
    expect(soy).toMatchObject({ mappedPixels: 12, cdlPixels: 2 });
    // The pixel with no CDL label is in neither column; both columns sum to the mapped pixels.
    const sum = (k: "mappedPixels" | "cdlPixels") => areas.reduce((n, a) => n + a[k], 0);
    expect([sum("mappedPixels"), sum("cdlPixels")]).toEqual([confusion.mapped, confusion.mapped]);
    expect(classAreas(confusion.matrix, 60).find((a) => a.id === 3)?.cdlHa).toBeCloseTo(5.4, 12);
  });
});
