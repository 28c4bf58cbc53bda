import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureExportEnv } from "../../lib/model/export.env.ts";
import { exportModel } from "../../lib/model/model.export.ts";
import { loadModelFile } from "../../lib/model/model.session.ts";
import { checkSeriesGraph, checkSeriesOutput } from "../../lib/series/series.graph.ts";
import { loadSeriesManifest, type SeriesManifest } from "../../lib/series/series.manifest.ts";

// The SITS-Former export (models/export/sits_former_export.py, PyTorch from PyPI) at its reduced
// size: the same operators, narrower and shallower, seeded random weights.
const quiet = () => {};
let dir: string;
let exported: SeriesManifest;
let report: Awaited<ReturnType<typeof exportModel>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sits-former-"));
  report = await exportModel(
    "sits-former",
    { out: dir, size: "reduced", seed: 5, parityBatches: "2,1,3", writeCheckpoint: join(dir, "reduced.pth") },
    quiet,
  );
  exported = await loadSeriesManifest(report.name, dir);
}, 900_000);

describe("the SITS-Former export", () => {
  it("exports the architecture with a series manifest carrying its sha256, matching PyTorch", async () => {
    expect(exported.name).toBe("sits-former-reduced-random");
    expect(exported.family).toBe("series");
    expect(exported.description).toContain("SEEDED RANDOM WEIGHTS");
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
  });

  it("loads a SITS-Former state dict strictly, to the same bytes", async () => {
    const again = await mkdtemp(join(tmpdir(), "sits-former-"));
    const fromCheckpoint = await exportModel(
      "sits-former",
      { out: again, size: "reduced", seed: 5, checkpoint: join(dir, "reduced.pth"), parityBatches: "1" },
      quiet,
    );
    expect(fromCheckpoint.name).toBe("sits-former-reduced");
    expect(fromCheckpoint.sha256).toBe(report.sha256);
    expect(
      (await readFile(join(again, "sits-former-reduced.onnx"))).equals(
        await readFile(join(dir, `${report.name}.onnx`)),
      ),
    ).toBe(true);
  });

  it("refuses a state dict with missing, unexpected or misshapen keys, listing them", async () => {
    const python = await ensureExportEnv();
    const bad = join(dir, "bad.pth");
    await promisify(execFile)(python, [
      "-c",
      `import torch; s = torch.load(${JSON.stringify(join(dir, "reduced.pth"))}); ` +
        `s.pop("classification.linear.bias"); s["bert.extra"] = torch.zeros(1); ` +
        `s["bert.embedding.linear.weight"] = torch.zeros(32, 99); torch.save(s, ${JSON.stringify(bad)})`,
    ]);
    await expect(
      exportModel("sits-former", { out: join(dir, "refused"), size: "reduced", checkpoint: bad }, quiet),
    ).rejects.toThrow(
      "missing keys (1): classification.linear.bias | unexpected keys (1): bert.extra | shape mismatches (1): bert.embedding.linear.weight: checkpoint [32, 99], model [32, 32]",
    );
  });
});
