import { copyFile, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ClassId, CropClasses } from "../../lib/cdl/classes.ts";
import { loadConfig } from "../../lib/config/config.load.ts";
import { loadModelManifest, ModelsDir } from "../../lib/model/model.manifest.ts";
import { loadModelFile } from "../../lib/model/model.session.ts";
import { checkSeriesGraph } from "../../lib/series/series.graph.ts";
import {
  bandScaling,
  loadAnyManifest,
  loadSeriesManifest,
  pipelineShape,
  type SeriesNormalization,
} from "../../lib/series/series.manifest.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { buildSitsTiny } from "../../models/build/sits-tiny.build.ts";
import { bareSpectrum, greenness, greenSpectrum } from "../../scripts/synth/spectra.ts";

const s3 = createS3Client(loadConfig({ env: {} }));
const quiet = () => {};

async function sitsTiny() {
  const manifest = await loadSeriesManifest("sits-tiny");
  const loaded = await loadModelFile(manifest, s3, { device: "cpu" }, quiet, (g) =>
    checkSeriesGraph(manifest, g),
  );
  return { manifest, loaded };
}

/** One pixel of a class seen on `doys` (every 8 days from April), patch-constant, normalised. */
function pixelOf(classId: number, doys: number[], T: number, k: number, norm: SeriesNormalization) {
  const { offset, divisor } = bandScaling(norm);
  const series = new Float32Array(T * 6 * k * k);
  const doy = new Float32Array(T);
  const mask = new Float32Array(T);
  doys.forEach((d, t) => {
    const g = greenness(classId as ClassId, d);
    const lo = bareSpectrum(classId as ClassId);
    const hi = greenSpectrum(classId as ClassId);
    for (let b = 0; b < 6; b++) {
      const v =
        ((lo[b] as number) + ((hi[b] as number) - (lo[b] as number)) * g - (offset[b] as number)) /
        (divisor[b] as number);
      series.fill(v, (t * 6 + b) * k * k, (t * 6 + b + 1) * k * k);
    }
    doy[t] = d;
    mask[t] = 1;
  });
  return { series, doy, mask };
}

describe("the time-series model family", () => {
  it("rebuilds the bundled series model byte for byte, a few KB, from its script", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sits-"));
    await copyFile(join(ModelsDir, "sits-tiny.json"), join(dir, "sits-tiny.json"));
    const { sha256, trainingAccuracy } = await buildSitsTiny(dir);
    expect(sha256).toBe((await loadSeriesManifest("sits-tiny")).sha256);
    const bytes = await readFile(join(dir, "sits-tiny.onnx"));
    expect(bytes.equals(await readFile(join(ModelsDir, "sits-tiny.onnx")))).toBe(true);
    expect(bytes.length).toBeLessThan(300_000);
    expect(trainingAccuracy).toBeGreaterThan(0.95);
  });

  it("reads each family by the family it declares and refuses the other family by name", async () => {
    expect((await loadAnyManifest("sits-tiny")).family).toBe("series");
    expect((await loadAnyManifest("crop-tiny")).family).toBeUndefined();
    await expect(loadModelManifest("sits-tiny")).rejects.toThrow(
      "model 'sits-tiny' is of the series family, not a chip model",
    );
    await expect(loadSeriesManifest("crop-tiny")).rejects.toThrow(
      "model 'crop-tiny' is of the chip family, not a series model",
    );
    expect(await pipelineShape("sits-tiny")).toEqual({
      chip: { size: 64, stride: 64 },
      series: { maxDates: 48 },
    });
    expect(await pipelineShape("crop-tiny")).toEqual({
      chip: { size: 224, stride: 112 },
      tiling: { kind: "mmseg", size: 224, stride: 112 },
    });
  });

  it("refuses a malformed series manifest naming the field and value", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sits-bad-"));
    const good = JSON.parse(await readFile(join(ModelsDir, "sits-tiny.json"), "utf8"));
    await writeFile(join(dir, "even.json"), JSON.stringify({ ...good, name: "even", patch: 4 }));
    await expect(loadSeriesManifest("even", dir)).rejects.toThrow("patch: must be odd");
    await writeFile(join(dir, "odd-family.json"), JSON.stringify({ ...good, family: "cube" }));
    await expect(loadAnyManifest("odd-family", dir)).rejects.toThrow("unknown family 'cube'");
    await writeFile(
      join(dir, "few.json"),
      JSON.stringify({ ...good, name: "few", output: { name: "logits", classes: 12 } }),
    );
    await expect(loadSeriesManifest("few", dir)).rejects.toThrow("classes: lists 13 classes, output has 12");
  });

  it("checks the graph against the manifest: dates, patch and output", async () => {
    const { manifest, loaded } = await sitsTiny();
    expect(() => checkSeriesGraph({ ...manifest, maxDates: 40 }, loaded.thread.graph)).toThrow(
      "'series' has shape [batch, 48, 6, 3, 3], manifest says [batch, 40, 6, 3, 3]",
    );
    expect(() =>
      checkSeriesGraph({ ...manifest, inputs: { ...manifest.inputs, doy: "day" } }, loaded.thread.graph),
    ).toThrow("graph inputs are [series, doy, mask], manifest names 'day'");
  });

  it("classifies clean season profiles of every class, and a masked or padded date changes nothing", async () => {
    const { manifest, loaded } = await sitsTiny();
    const T = manifest.maxDates;
    const k = manifest.patch;
    const doys = Array.from({ length: 24 }, (_, i) => 95 + i * 9);
    const pixels = CropClasses.map((c) => pixelOf(c.id, doys, T, k, manifest.normalization));
    // The same corn pixel with three dates clouded (garbage values, mask 0).
    const corn = pixelOf(3, doys, T, k, manifest.normalization);
    for (const t of [3, 10, 17]) {
      corn.series.fill(25, t * 6 * k * k, (t + 1) * 6 * k * k);
      corn.mask[t] = 0;
    }
    const clean = pixelOf(3, doys, T, k, manifest.normalization);
    for (const t of [3, 10, 17]) {
      clean.series.fill(0, t * 6 * k * k, (t + 1) * 6 * k * k);
      clean.mask[t] = 0;
    }
    const all = [...pixels, corn, clean];
    const n = all.length;
    const concat = (pick: (p: (typeof all)[number]) => Float32Array) => {
      const one = pick(all[0] as (typeof all)[number]).length;
      const out = new Float32Array(n * one);
      all.forEach((p, i) => {
        out.set(pick(p), i * one);
      });
      return out;
    };
    const result = await loaded.thread.runFeeds(
      [
        { name: "series", data: concat((p) => p.series), dims: [n, T, 6, k, k] },
        { name: "doy", data: concat((p) => p.doy), dims: [n, T] },
        { name: "mask", data: concat((p) => p.mask), dims: [n, T] },
      ],
      "logits",
    );
    expect(result.dims).toEqual([n, 13]);
    const argmax = (i: number) => {
      const row = Array.from(result.data.subarray(i * 13, (i + 1) * 13));
      return row.indexOf(Math.max(...row)) + 1;
    };
    const right = CropClasses.filter((c, i) => argmax(i) === c.id).length;
    expect(right).toBeGreaterThanOrEqual(12);
    const masked = result.data.subarray(13 * 13, 14 * 13);
    const zeroed = result.data.subarray(14 * 13, 15 * 13);
    for (let c = 0; c < 13; c++) expect(masked[c]).toBeCloseTo(zeroed[c] as number, 4);
    expect(argmax(13)).toBe(3);
  });
});
