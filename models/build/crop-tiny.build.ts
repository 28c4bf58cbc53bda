/**
 * Builds the bundled model, models/crop-tiny.onnx, and writes its sha256 into crop-tiny.json.
 *
 * It is not Prithvi: it is a linear discriminant fitted to pixels drawn from the synthetic world's
 * own class signatures (scripts/synth/spectra.ts: phenology curves and spectra, with the generator's
 * per-field variation and noise), at dates drawn from the default season windows. The ONNX graph
 * takes the Prithvi contract ([B, 18, 224, 224] normalised, time-major) and returns [B, 13, 224, 224]
 * logits: a 3 x 3 average pool (spatial context, and it damps noise) then a 1 x 1 convolution.
 * The same seed gives the same bytes: `npx tsx models/build/crop-tiny.build.ts` reproduces the file.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type ClassId, CropClasses } from "../../lib/cdl/classes.ts";
import { DefaultSeasonWindows, windowDays } from "../../lib/contracts/season.windows.ts";
import { ModelManifestParser, ModelsDir } from "../../lib/model/model.manifest.ts";
import { seededRandom } from "../../lib/random.ts";
import { FieldVariation } from "../../scripts/synth/tile.render.ts";
import { fitLda } from "./lda.ts";
import { encodeOnnx } from "./onnx.writer.ts";
import { drawField, observe, trainingAccuracy } from "./synthetic.pixels.ts";

const SamplesPerClass = 4000;
const Seed = 20230801;

export async function buildCropTiny(dir = ModelsDir): Promise<{ sha256: string; trainingAccuracy: number }> {
  const manifestFile = join(dir, "crop-tiny.json");
  const manifest = ModelManifestParser.parse(JSON.parse(await readFile(manifestFile, "utf8")));
  const random = seededRandom(Seed);
  const between = (lo: number, hi: number) => lo + (hi - lo) * random();
  const windows = DefaultSeasonWindows.map((w) => windowDays(2022, w));

  const samples: Float64Array[] = [];
  const labels: number[] = [];
  for (const { id } of CropClasses) {
    for (let s = 0; s < SamplesPerClass; s++) {
      const field = drawField(id as ClassId, random);
      const x = new Float64Array(18);
      windows.forEach(([start, end], t) => {
        x.set(
          observe(
            field,
            Math.round(between(start, end)),
            FieldVariation.noise,
            manifest.normalization,
            random,
          ),
          t * 6,
        );
      });
      samples.push(x);
      labels.push(id - 1);
    }
  }
  const lda = fitLda(samples, labels, CropClasses.length);

  const bytes = encodeOnnx({
    producer: "crop-map models/build/crop-tiny.build.ts",
    doc: "Linear discriminant over 3 x 3 averaged, normalised HLS stacks; fitted to the synthetic world's class signatures.",
    opset: 13,
    nodes: [
      {
        op: "AveragePool",
        inputs: [manifest.input.name],
        outputs: ["smoothed"],
        attributes: [
          { name: "kernel_shape", ints: [3, 3] },
          { name: "pads", ints: [1, 1, 1, 1] },
          { name: "count_include_pad", int: 0 },
        ],
      },
      {
        op: "Conv",
        inputs: ["smoothed", "weights", "bias"],
        outputs: [manifest.output.name],
        attributes: [{ name: "kernel_shape", ints: [1, 1] }],
      },
    ],
    initializers: [
      {
        name: "weights",
        dims: [CropClasses.length, 18, 1, 1],
        values: Float32Array.from(lda.weights.flat()),
      },
      { name: "bias", dims: [CropClasses.length], values: Float32Array.from(lda.bias) },
    ],
    inputs: [{ name: manifest.input.name, shape: ["batch", 18, manifest.chip.size, manifest.chip.size] }],
    outputs: [
      {
        name: manifest.output.name,
        shape: ["batch", CropClasses.length, manifest.chip.size, manifest.chip.size],
      },
    ],
  });
  await writeFile(join(dir, "crop-tiny.onnx"), bytes);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  await writeFile(manifestFile, `${JSON.stringify({ ...manifest, sha256 }, null, 2)}\n`);
  return { sha256, trainingAccuracy: trainingAccuracy(lda, samples, labels) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { sha256, trainingAccuracy } = await buildCropTiny();
  console.log(
    `models/crop-tiny.onnx sha256 ${sha256}; accuracy on its own training pixels ${(trainingAccuracy * 100).toFixed(1)} %`,
  );
}
