import { copyFile, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../lib/config/config.load.ts";
import { loadModelManifest, ModelsDir } from "../../lib/model/model.manifest.ts";
import {
  checkBatchOutput,
  checkGraph,
  checkInferenceDevice,
  DeviceUnavailableError,
  loadModel,
  ModelMismatchError,
  runBatch,
} from "../../lib/model/model.session.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { buildCropTiny } from "../../models/build/crop-tiny.build.ts";
import { writeTestModel } from "../support/test.models.ts";

const s3 = createS3Client(loadConfig({ env: {} }));
const quiet = () => {};
const cpu = { device: "cpu" } as const;

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

  it("loads the bundled model on its own thread and checks its graph against the manifest", async () => {
    const manifest = await loadModelManifest("crop-tiny");
    const loaded = await loadModel(manifest, s3, cpu, quiet);
    expect(loaded.provider).toBe("cpu");
    const logits = await runBatch(loaded, new Float32Array(2 * 18 * 224 * 224), 2);
    expect(logits.length).toBe(2 * 13 * 224 * 224);
  });

  it("refuses a graph that does not match its manifest, naming the field", async () => {
    const manifest = await loadModelManifest("crop-tiny");
    const { thread } = await loadModel(manifest, s3, cpu, quiet);
    const graph = thread.graph;
    expect(() => checkGraph({ ...manifest, chip: { size: 256, stride: 128 } }, graph)).toThrow(
      "input 'hls' has shape [batch, 18, 224, 224], manifest says [batch, 18, 256, 256]",
    );
    expect(() => checkGraph({ ...manifest, output: { ...manifest.output, name: "scores" } }, graph)).toThrow(
      "graph outputs are [logits], manifest output.name is 'scores'",
    );
    expect(() => checkGraph({ ...manifest, output: { ...manifest.output, classes: 12 } }, graph)).toThrow(
      "output 'logits' has shape",
    );
  });

  it("refuses logits that are not chip-sized, at load when the graph says so and on the first batch when it does not", async () => {
    const dir = await mkdtemp(join(tmpdir(), "model-"));
    // Fixed 112 x 112 logits: refused when the session loads.
    const fixed = await writeTestModel(dir, "half-fixed", { outputScale: 2 });
    await expect(loadModel(fixed, s3, { ...cpu, modelsDir: dir }, quiet)).rejects.toThrow(
      "output 'logits' has shape [batch, 13, 112, 112], manifest says [batch, 13, 224, 224]",
    );
    // The same graph with free spatial dimensions loads, and its first batch is refused.
    const named = await writeTestModel(dir, "half-named", { outputScale: 2, namedDims: true });
    const loaded = await loadModel(named, s3, { ...cpu, modelsDir: dir }, quiet);
    const run = runBatch(loaded, new Float32Array(18 * 224 * 224), 1);
    await expect(run).rejects.toBeInstanceOf(ModelMismatchError);
    await expect(run).rejects.toThrow(
      "came back [1, 13, 112, 112] for a batch of 1, manifest says [1, 13, 224, 224]",
    );
    expect(() =>
      checkBatchOutput(named, 2, { data: new Float32Array(0), dims: [2, 13, 224, 224] }),
    ).not.toThrow();
  });

  it("refuses a file whose checksum differs, a file that is not ONNX, a model never supplied, an unknown name", async () => {
    const manifest = await loadModelManifest("crop-tiny");
    await expect(loadModel({ ...manifest, sha256: "0".repeat(64) }, s3, cpu, quiet)).rejects.toThrow(
      "ONNX file",
    );
    await expect(loadModel({ ...manifest, sha256: "0".repeat(64) }, s3, cpu, quiet)).rejects.toThrow(
      `has sha256 ${manifest.sha256}, manifest says ${"0".repeat(64)}`,
    );
    const dir = await mkdtemp(join(tmpdir(), "model-"));
    const garbage = Buffer.from("this is not a protobuf, let alone an ONNX graph");
    await writeFile(join(dir, "garbage.onnx"), garbage);
    const { createHash } = await import("node:crypto");
    const sha256 = createHash("sha256").update(garbage).digest("hex");
    await expect(
      loadModel(
        { ...manifest, name: "garbage", onnx: "garbage.onnx", sha256 },
        s3,
        { ...cpu, modelsDir: dir },
        quiet,
      ),
    ).rejects.toThrow(`${join(dir, "garbage.onnx")} is not a loadable ONNX model`);
    await expect(loadModel(await loadModelManifest("prithvi-crop-100m"), s3, cpu, quiet)).rejects.toThrow(
      "has no sha256",
    );
    await expect(loadModelManifest("no-such-model")).rejects.toThrow("model 'no-such-model' is not in");
  });

  it("refuses a CUDA request that would run on the CPU, unless the config allows the fallback", async () => {
    const manifest = await loadModelManifest("crop-tiny");
    const lines: string[] = [];
    const strict = loadModel(manifest, s3, { device: "cuda" }, (line) => lines.push(line));
    const outcome = await strict.then(
      (loaded) => loaded.provider,
      (error: unknown) => error,
    );
    if (outcome === "cuda") return; // a GPU host: nothing falls back
    // This machine has no GPU: without the flag the load fails, saying why and what to set.
    expect(outcome).toBeInstanceOf(DeviceUnavailableError);
    expect(String(outcome)).toContain("cuda unavailable");
    expect(String(outcome)).toContain("inference.allowCpuFallback");
    // The inference worker's start-up check fails the same way, so such a worker never polls.
    await expect(checkInferenceDevice({ device: "cuda" }, quiet)).rejects.toBeInstanceOf(
      DeviceUnavailableError,
    );
    const loaded = await loadModel(manifest, s3, { device: "cuda", allowCpuFallback: true }, (line) =>
      lines.push(line),
    );
    expect(loaded.provider).toBe("cpu");
    expect(lines.join("\n")).toContain("cuda unavailable");
    expect(lines.at(-1)).toContain("provider=cpu");
    expect(await checkInferenceDevice({ device: "cuda", allowCpuFallback: true }, quiet)).toBe("cpu");
  });

  it("parses allowCpuFallback from the environment, off by default", () => {
    expect(loadConfig({ env: {} }).inference.allowCpuFallback).toBe(false);
    expect(
      loadConfig({ env: { CROP_MAP_INFERENCE_ALLOW_CPU_FALLBACK: "true" } }).inference.allowCpuFallback,
    ).toBe(true);
  });
});
