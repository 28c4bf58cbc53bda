import { copyFile, mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../lib/config/config.load.ts";
import { loadModelManifest, ModelsDir } from "../../lib/model/model.manifest.ts";
import { checkGraph, loadModel } from "../../lib/model/model.session.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { buildCropTiny } from "../../models/build-crop-tiny.ts";

const s3 = createS3Client(loadConfig({ env: {} }));
const quiet = () => {};

describe("model manifests and sessions", () => {
  it("rebuilds the bundled model byte for byte from its script", async () => {
    const dir = await mkdtemp(join(tmpdir(), "model-"));
    await copyFile(join(ModelsDir, "crop-tiny.json"), join(dir, "crop-tiny.json"));
    const { sha256, trainingAccuracy } = await buildCropTiny(dir);
    const committed = await loadModelManifest("crop-tiny");
    expect(sha256).toBe(committed.sha256);
    expect(
      (await readFile(join(dir, "crop-tiny.onnx"))).equals(await readFile(join(ModelsDir, "crop-tiny.onnx"))),
    ).toBe(true);
    expect(trainingAccuracy).toBeGreaterThan(0.85);
  });

  it("loads the bundled model and checks its graph against the manifest", async () => {
    const manifest = await loadModelManifest("crop-tiny");
    const loaded = await loadModel(manifest, s3, "cpu", quiet);
    expect(loaded.provider).toBe("cpu");
    const x = new ort.Tensor("float32", new Float32Array(18 * 224 * 224), [1, 18, 224, 224]);
    const out = await loaded.session.run({ hls: x });
    expect(out.logits?.dims).toEqual([1, 13, 224, 224]);
  });

  it("refuses a graph that does not match its manifest, naming the field", async () => {
    const manifest = await loadModelManifest("crop-tiny");
    const { session } = await loadModel(manifest, s3, "cpu", quiet);
    expect(() => checkGraph({ ...manifest, chip: { size: 256, stride: 128 } }, session)).toThrow(
      "input 'hls' has shape [batch, 18, 224, 224], manifest says [batch, 18, 256, 256]",
    );
    expect(() =>
      checkGraph({ ...manifest, output: { ...manifest.output, name: "scores" } }, session),
    ).toThrow("graph outputs are [logits], manifest output.name is 'scores'");
    expect(() => checkGraph({ ...manifest, output: { ...manifest.output, classes: 12 } }, session)).toThrow(
      "output 'logits' has shape",
    );
  });

  it("refuses a file whose checksum differs, a model never supplied, and an unknown name", async () => {
    const manifest = await loadModelManifest("crop-tiny");
    await expect(loadModel({ ...manifest, sha256: "0".repeat(64) }, s3, "cpu", quiet)).rejects.toThrow(
      "ONNX file has sha256",
    );
    await expect(loadModel(await loadModelManifest("prithvi-crop-100m"), s3, "cpu", quiet)).rejects.toThrow(
      "has no sha256",
    );
    await expect(loadModelManifest("no-such-model")).rejects.toThrow("model 'no-such-model' is not in");
  });

  it("falls back to the CPU, and says so, when CUDA cannot start", async () => {
    const manifest = await loadModelManifest("crop-tiny");
    const lines: string[] = [];
    const loaded = await loadModel(manifest, s3, "cuda", (line) => lines.push(line));
    // This machine has no GPU: the CPU provider runs, and the log says why.
    if (loaded.provider === "cpu") expect(lines.join("\n")).toContain("cuda unavailable");
    expect(lines.at(-1)).toContain(`provider=${loaded.provider}`);
  });
});
