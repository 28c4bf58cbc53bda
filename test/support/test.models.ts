import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type ModelManifest, ModelManifestParser, ModelsDir } from "../../lib/model/model.manifest.ts";
import { seededRandom } from "../../lib/random.ts";
import { encodeOnnx, type OnnxNode, type OnnxTensor } from "../../models/build/onnx.writer.ts";

export interface TestModelOptions {
  /** Hidden 3 x 3 convolutions of `channels` each: the cost of a window (64 x 4 is about 15 GFLOP). */
  layers?: number;
  channels?: number;
  /** Logits pooled down by this factor (224 / 2 = 112): a model that breaks the manifest's contract. */
  outputScale?: number;
  /** Declare the spatial dimensions named (free) rather than fixed, so no shape check at load can see them. */
  namedDims?: boolean;
  /** The sliding window's stride in the manifest (crop-tiny's 112 by default; 224 runs a quarter of the windows). */
  stride?: number;
}

/**
 * Writes `<name>.onnx` and `<name>.json` into `dir`: a small convolutional network with the crop
 * contract ([B, 18, 224, 224] in, [B, 13, 224, 224] logits out) and seeded random weights, whose
 * cost per window is set by its layers, for tests of inference behaviour (slow batches, bad shapes).
 */
export async function writeTestModel(dir: string, name: string, options: TestModelOptions = {}) {
  const { layers = 0, channels = 16, outputScale = 1, namedDims = false, stride } = options;
  const random = seededRandom(7);
  const weights = (n: number, fanIn: number) =>
    Float32Array.from({ length: n }, () => (random() - 0.5) * (2 / Math.sqrt(fanIn)));
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const conv = (input: string, output: string, cin: number, cout: number, k: number) => {
    const w = `${output}_w`;
    initializers.push({ name: w, dims: [cout, cin, k, k], values: weights(cout * cin * k * k, cin * k * k) });
    nodes.push({
      op: "Conv",
      inputs: [input, w],
      outputs: [output],
      attributes: [
        { name: "kernel_shape", ints: [k, k] },
        { name: "pads", ints: [(k - 1) / 2, (k - 1) / 2, (k - 1) / 2, (k - 1) / 2] },
      ],
    });
  };
  let at = "hls";
  let width = 18;
  for (let i = 0; i < layers + 1; i++) {
    conv(at, `conv${i}`, width, channels, 3);
    nodes.push({ op: "Relu", inputs: [`conv${i}`], outputs: [`relu${i}`] });
    at = `relu${i}`;
    width = channels;
  }
  const last = outputScale > 1 ? "scores" : "logits";
  conv(at, last, width, 13, 1);
  if (outputScale > 1) {
    nodes.push({
      op: "AveragePool",
      inputs: [last],
      outputs: ["logits"],
      attributes: [
        { name: "kernel_shape", ints: [outputScale, outputScale] },
        { name: "strides", ints: [outputScale, outputScale] },
      ],
    });
  }
  const side = 224 / outputScale;
  const bytes = encodeOnnx({
    producer: "crop-map test/support/test.models.ts",
    doc: "A test model with the crop contract and random weights.",
    opset: 13,
    nodes,
    initializers,
    inputs: [{ name: "hls", shape: ["batch", 18, ...(namedDims ? ["height", "width"] : [224, 224])] }],
    outputs: [
      { name: "logits", shape: ["batch", 13, ...(namedDims ? ["out_height", "out_width"] : [side, side])] },
    ],
  });
  await writeFile(join(dir, `${name}.onnx`), bytes);
  const base = ModelManifestParser.parse(
    JSON.parse(await readFile(join(ModelsDir, "crop-tiny.json"), "utf8")),
  );
  const manifest: ModelManifest = {
    ...base,
    name,
    description: `test model: ${JSON.stringify(options)}`,
    onnx: `${name}.onnx`,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    ...(stride ? { chip: { ...base.chip, stride } } : {}),
  };
  await writeFile(join(dir, `${name}.json`), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
