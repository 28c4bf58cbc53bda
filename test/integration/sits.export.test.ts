import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { CropClasses } from "../../lib/cdl/classes.ts";
import type { StackHeader } from "../../lib/contracts/stack.header.ts";
import { ModelBands } from "../../lib/hls/lpdaac.keys.ts";
import { ensureExportEnv } from "../../lib/model/export.env.ts";
import { exportModel } from "../../lib/model/model.export.ts";
import { loadModelFile } from "../../lib/model/model.session.ts";
import { checkSeriesGraph, checkSeriesOutput } from "../../lib/series/series.graph.ts";
import { fillPixel, loadStrips, type SeriesDate } from "../../lib/series/series.input.ts";
import { loadSeriesManifest, type SeriesManifest } from "../../lib/series/series.manifest.ts";

// The SITS-Former export (models/export/sits_former_export.py, PyTorch from PyPI) at tiny sizes:
// seeded random weights at the reduced size, and a checkpoint as the original code saves it, whose
// ONNX is compared with a reference forward written apart from the exporter
// (test/support/sits_former_reference.py), fed the way the original feeds it.
const quiet = () => {};
const run = promisify(execFile);
const Reference = join(import.meta.dirname, "..", "support", "sits_former_reference.py");

/**
 * The original's own settings (10 Sentinel-2 bands, Conv3d band kernels 5, 15 classes), trained
 * with 4 heads where it defaults to 8, at a tiny width; saved under nn.DataParallel. Its red-edge
 * and broad NIR bands (B05 B06 B07 B08), which the pipeline does not stage, are fed from the
 * staged band nearest in wavelength.
 */
const Original = {
  seed: 3,
  bands: 10,
  bandKernels: [5, 5],
  channels: [8, 16],
  hidden: 32,
  layers: 2,
  heads: 4,
  wrongHeads: 8,
  classes: 15,
  patch: 5,
  dates: 24,
  blocksAcross: 8,
  blocksDown: 4,
  maxLength: 75,
  staged: ModelBands.S30,
  bandsFrom: ["B02", "B03", "B04", "B04", "B04", "B8A", "B8A", "B8A", "B11", "B12"],
};

/** What the original's checkpoint needs said: its heads, its bands' sources, a crop-map class per output. */
const Flags = {
  heads: Original.heads,
  bands: Original.bandsFrom,
  classes: Array.from({ length: Original.classes }, (_, i) => {
    const c = CropClasses[i % CropClasses.length] as (typeof CropClasses)[number];
    return { id: c.id, name: c.name };
  }),
};

let dir: string;
let exported: SeriesManifest;
let report: Awaited<ReturnType<typeof exportModel>>;

beforeAll(async () => {
  const python = await ensureExportEnv();
  dir = await mkdtemp(join(tmpdir(), "sits-former-"));
  [report] = await Promise.all([
    exportModel(
      "sits-former",
      {
        out: dir,
        size: "reduced",
        seed: 5,
        parityBatches: "2,1,3",
        writeCheckpoint: join(dir, "reduced.pth"),
      },
      quiet,
    ),
    run(python, [Reference, dir, JSON.stringify(Original)]),
  ]);
  exported = await loadSeriesManifest(report.name, dir);
}, 900_000);

describe("the SITS-Former export", () => {
  it("exports the architecture with a series manifest carrying its sha256, matching PyTorch", async () => {
    expect(exported.name).toBe("sits-former-reduced-random");
    expect(exported.family).toBe("series");
    expect(exported.description).toContain("SEEDED RANDOM WEIGHTS");
    expect(exported.normalization).toEqual({ divideBy: 10000 });
    expect(exported.architecture).toMatchObject({ heads: 4, inputBands: [...ModelBands.S30] });
    expect(report.parity.maxAbsLogitDiff).toBeLessThanOrEqual(1e-4);
    expect(report.parity.argmaxAgreement).toBe(1);
    // The pipeline's own checks pass at load, and batches of any size come back [B, 13].
    const loaded = await loadModelFile(exported, undefined, { device: "cpu", modelsDir: dir }, quiet, (g) =>
      checkSeriesGraph(exported, g),
    );
    const { maxDates: T, patch: k } = exported;
    for (const batch of [1, 3]) {
      const mask = new Float32Array(batch * T);
      const doy = new Float32Array(batch * T);
      for (let i = 0; i < batch; i++)
        for (let t = 0; t < 10; t++) {
          mask[i * T + t] = t % 3 === 2 ? 0 : 1;
          doy[i * T + t] = 100 + 12 * t;
        }
      const result = await loaded.thread.runFeeds(
        [
          {
            name: "series",
            data: new Float32Array(batch * T * 6 * k * k).fill(0.5),
            dims: [batch, T, 6, k, k],
          },
          { name: "doy", data: doy, dims: [batch, T] },
          { name: "mask", data: mask, dims: [batch, T] },
        ],
        "logits",
      );
      checkSeriesOutput(exported, batch, result);
      expect(result.data.every(Number.isFinite)).toBe(true);
    }
    await loaded.thread.close();
  });

  it("loads its own checkpoint strictly, to the same bytes, its heads from the checkpoint's record", async () => {
    const again = await mkdtemp(join(tmpdir(), "sits-former-"));
    const fromCheckpoint = await exportModel(
      "sits-former",
      { out: again, seed: 5, checkpoint: join(dir, "reduced.pth"), parityBatches: "1" },
      quiet,
    );
    expect(fromCheckpoint.name).toBe("sits-former");
    expect(fromCheckpoint.sha256).toBe(report.sha256);
    expect(
      (await readFile(join(again, "sits-former.onnx"))).equals(
        await readFile(join(dir, `${report.name}.onnx`)),
      ),
    ).toBe(true);
    // The architecture is the checkpoint's: a size for it is refused, not applied.
    await expect(
      exportModel(
        "sits-former",
        { out: again, size: "reduced", checkpoint: join(dir, "reduced.pth") },
        quiet,
      ),
    ).rejects.toThrow("--size reduced: sits-former's architecture is read from the checkpoint");
  });

  it("refuses a checkpoint of the original code in one line naming every flag it needs", async () => {
    const error = await exportModel(
      "sits-former",
      { out: join(dir, "refused"), checkpoint: join(dir, "original.tar") },
      quiet,
    ).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    const line = (error as Error).message;
    expect(line.split("\n")).toHaveLength(1);
    // The heads no shape shows; the bands the pipeline does not stage, by name; the classes.
    expect(line).toContain("--heads: the checkpoint does not record its attention heads");
    expect(line).toContain(
      "the checkpoint's 10 bands B02 B03 B04 B05 B06 B07 B08 B8A B11 B12 (the original's Sentinel-2 order) include B05, B06, B07, B08",
    );
    expect(line).toContain("--classes: the checkpoint has 15 classes, the manifest lists 13");
  });

  it("refuses it damaged, listing the missing, unexpected and misshapen keys", async () => {
    await expect(
      exportModel(
        "sits-former",
        { out: join(dir, "refused"), checkpoint: join(dir, "damaged.tar"), ...Flags },
        quiet,
      ),
    ).rejects.toThrow(
      "missing keys (1): classification.linear.bias | unexpected keys (1): bert.extra | shape mismatches (1): bert.transformer_encoder.layers.0.norm1.weight: checkpoint [99], model [32]",
    );
  });

  it("exports it with --heads, --bands and --classes, and the pipeline's inputs give the original forward's logits", async () => {
    const out = join(dir, "original");
    const done = await exportModel(
      "sits-former",
      { out, checkpoint: join(dir, "original.tar"), ...Flags, parityBatches: "1" },
      quiet,
    );
    const manifest = await loadSeriesManifest(done.name, out);
    expect(manifest.normalization).toEqual({ divideBy: 10000 });
    expect(manifest.output.classes).toBe(15);
    expect(manifest.architecture).toEqual({
      kind: "sits-former",
      inputBands: Original.bandsFrom,
      bandKernels: [5, 5],
      hidden: 32,
      layers: 2,
      heads: 4,
    });

    // The staged grid as inference reads it, through the pipeline's own input preparation: every
    // date in place with its mask (the original packs clear dates first), normalised as the
    // manifest says, the checkpoint's ten bands gathered from the six inside the graph.
    const ref = JSON.parse(await readFile(join(dir, "reference.json"), "utf8")) as {
      width: number;
      height: number;
      doys: number[];
      pixels: [number, number][];
      logits: number[][];
      wrongHeadsLogits: number[][];
    };
    const stack = new Int16Array((await readFile(join(dir, "stack.bin"))).buffer.slice(0));
    const { width, height } = ref;
    const chunk = 64;
    const header = { grid: { width, height }, chunk } as StackHeader;
    const plane = width * height;
    const dates: SeriesDate[] = ref.doys.map((doy, t) => {
      const data = new Int16Array(6 * chunk * chunk);
      for (let b = 0; b < 6; b++)
        for (let y = 0; y < height; y++)
          for (let x = 0; x < width; x++)
            data[b * chunk * chunk + y * chunk + x] = stack[(t * 6 + b) * plane + y * width + x] as number;
      return { header, doy, rows: new Map([[0, { data: [data], valid: [] }]]) };
    });
    const { maxDates: T, patch: k } = manifest;
    const n = ref.pixels.length;
    const batch = {
      series: new Float32Array(n * T * 6 * k * k),
      doy: new Float32Array(n * T),
      mask: new Float32Array(n * T),
    };
    loadStrips(dates, 0, height, (k - 1) / 2, manifest.normalization);
    const clear = ref.pixels.map(([x, y], slot) => fillPixel(batch, slot, dates, T, x, y, k));
    expect(Math.min(...clear)).toBeGreaterThan(0);
    const loaded = await loadModelFile(manifest, undefined, { device: "cpu", modelsDir: out }, quiet, (g) =>
      checkSeriesGraph(manifest, g),
    );
    const result = await loaded.thread.runFeeds(
      [
        { name: "series", data: batch.series, dims: [n, T, 6, k, k] },
        { name: "doy", data: batch.doy, dims: [n, T] },
        { name: "mask", data: batch.mask, dims: [n, T] },
      ],
      "logits",
    );
    await loaded.thread.close();
    checkSeriesOutput(manifest, n, result);

    const compare = (expected: number[][]) => {
      let worst = 0;
      let scale = 0;
      let agree = 0;
      expected.forEach((row, i) => {
        const got = Array.from(result.data.subarray(i * 15, (i + 1) * 15));
        row.forEach((v, c) => {
          worst = Math.max(worst, Math.abs(v - (got[c] as number)));
          scale = Math.max(scale, Math.abs(v));
        });
        if (row.indexOf(Math.max(...row)) === got.indexOf(Math.max(...got))) agree++;
      });
      return { worst, relative: worst / scale, agreement: agree / expected.length };
    };
    const right = compare(ref.logits);
    const wrong = compare(ref.wrongHeadsLogits);
    console.log(
      `SITS-Former original-format checkpoint, ${n} pixels: ONNX vs reference max |dlogit| ${right.worst.toExponential(2)} (${right.relative.toExponential(2)} of the largest), argmax ${(100 * right.agreement).toFixed(1)} %; against the same weights run with ${Original.wrongHeads} heads: ${wrong.worst.toFixed(3)}`,
    );
    expect(right.relative).toBeLessThanOrEqual(1e-5);
    expect(right.agreement).toBe(1);
    // What the head count changes, and what a silent export with the wrong count would have missed.
    expect(wrong.relative).toBeGreaterThan(1e-2);
  });
});
