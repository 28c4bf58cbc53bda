import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { StackNodata } from "../../lib/contracts/stack.header.ts";
import { ensureExportEnv } from "../../lib/model/export.env.ts";
import type { SeriesDate } from "../../lib/series/series.input.ts";
import { CappedDraw, centreClear, clearSeries, splitOf } from "../../lib/series/series.sample.ts";
import { npzBytes } from "../../lib/training/npz.writer.ts";

const run = promisify(execFile);

/** One date of a `width` x `rows` strip whose band b holds 1000 b + 10 y + x, NaN at `cloudy` pixels. */
function date(doy: number, width: number, rows: number, cloudy: [number, number][]): SeriesDate {
  const data = new Float32Array(6 * rows * width);
  for (let b = 0; b < 6; b++)
    for (let y = 0; y < rows; y++)
      for (let x = 0; x < width; x++) data[(b * rows + y) * width + x] = 1000 * b + 10 * y + x;
  for (const [x, y] of cloudy) for (let b = 0; b < 6; b++) data[(b * rows + y) * width + x] = Number.NaN;
  const header = { grid: { epsg: 5070, origin: [0, 0], pixelSize: 30, width, height: rows } };
  return { header, doy, rows: new Map(), strip: { y0: 0, rows, data } } as unknown as SeriesDate;
}

describe("series samples", () => {
  it("an .npz numpy reads back: every array's dtype, shape and values, stored with a good CRC", async () => {
    const ts = Int16Array.from({ length: 2 * 6 * 3 * 3 }, (_, i) => i * 37 - 900);
    const body = npzBytes({
      ts: { dtype: "int16", shape: [2, 6, 3, 3], data: ts },
      doy: { dtype: "int16", shape: [2], data: Int16Array.of(101, 250) },
      class_label: { dtype: "int16", shape: [1], data: Int16Array.of(4) },
    });
    // The same arrays give the same bytes (no time stamp in them).
    expect(
      npzBytes({
        ts: { dtype: "int16", shape: [2, 6, 3, 3], data: ts },
        doy: { dtype: "int16", shape: [2], data: Int16Array.of(101, 250) },
        class_label: { dtype: "int16", shape: [1], data: Int16Array.of(4) },
      }),
    ).toEqual(body);
    const path = join(await mkdtemp(join(tmpdir(), "npz-")), "px_1_2.npz");
    await writeFile(path, body);
    const python = await ensureExportEnv();
    const read = `
import json, sys, zipfile, numpy as np
z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None
with np.load(sys.argv[1]) as f:
    print(json.dumps({k: {"dtype": str(f[k].dtype), "shape": list(f[k].shape), "sum": int(f[k].astype(np.int64).sum()), "first": int(f[k].flat[0])} for k in f.files}))
`;
    const out = JSON.parse((await run(python, ["-c", read, path])).stdout);
    const sum = (a: Int16Array) => a.reduce((s, v) => s + v, 0);
    expect(out).toEqual({
      ts: { dtype: "int16", shape: [2, 6, 3, 3], sum: sum(ts), first: -900 },
      doy: { dtype: "int16", shape: [2], sum: 351, first: 101 },
      class_label: { dtype: "int16", shape: [1], sum: 4, first: 4 },
    });
  }, 60_000);

  it("keeps only dates whose whole patch is clear, in date order, values as stored", () => {
    // 7 x 5 strip, pixel (3, 2): date 2 has a cloud at a patch corner, date 3 at the centre.
    const dates = [
      date(100, 7, 5, []),
      date(120, 7, 5, [[2, 1]]),
      date(140, 7, 5, [[3, 2]]),
      date(160, 7, 5, [[6, 4]]),
    ];
    expect(centreClear(dates, 3, 2)).toBe(3);
    const s = clearSeries(dates, 3, 2, 3);
    expect(s.dates).toBe(2);
    expect([...s.doy]).toEqual([100, 160]);
    expect(s.ts.length).toBe(2 * 6 * 9);
    // Date 1, band 1, the patch's top-left (2, 1): 1000 + 10 + 2; band 0's centre (3, 2): 23.
    expect(s.ts[9]).toBe(1012);
    expect(s.ts[4]).toBe(23);
    expect(s.ts.includes(StackNodata)).toBe(false);
    // A patch that runs off the grid has no clear date.
    expect(clearSeries(dates, 0, 2, 3).dates).toBe(0);
  });

  it("a capped draw keeps the least keys that pass the check, whatever the order they come in", () => {
    const keys = Array.from({ length: 200 }, (_, i) => ((i * 7919) % 200) / 200);
    const pass = (pixel: number) => (pixel % 3 === 0 ? null : pixel);
    const kept = (order: number[], rows: number) => {
      const draw = new CappedDraw<number>(10);
      order.forEach((pixel, i) => {
        draw.offer(keys[pixel] as number, pixel);
        if (i % rows === rows - 1) draw.settle(pass);
      });
      draw.settle(pass);
      return draw.values.map((d) => d.pixel);
    };
    const forward = Array.from({ length: 200 }, (_, i) => i);
    const expected = forward
      .filter((p) => p % 3 !== 0)
      .sort((a, b) => (keys[a] as number) - (keys[b] as number))
      .slice(0, 10);
    expect(kept(forward, 7)).toEqual(expected);
    expect(kept([...forward].reverse(), 50)).toEqual(expected);
  });

  it("splits by blocks: a block's pixels share a split, the shares come out near their values", () => {
    const sampling = { blockPixels: 4, testShare: 0.3 };
    const counts = { TRAIN: 0, VALIDATE: 0, TEST: 0 };
    for (let by = 0; by < 100; by++)
      for (let bx = 0; bx < 100; bx++) {
        const split = splitOf(bx * 4, by * 4, sampling, 7, 0.2);
        expect(splitOf(bx * 4 + 3, by * 4 + 2, sampling, 7, 0.2)).toBe(split);
        counts[split]++;
      }
    expect(counts.VALIDATE / 10_000).toBeCloseTo(0.2, 1);
    expect(counts.TEST / 10_000).toBeCloseTo(0.3, 1);
    // Another seed, another draw of the blocks.
    const moved = Array.from(
      { length: 100 },
      (_, b) => splitOf(b * 4, 0, sampling, 8, 0.2) !== splitOf(b * 4, 0, sampling, 7, 0.2),
    );
    expect(moved.filter(Boolean).length).toBeGreaterThan(20);
  });
});
