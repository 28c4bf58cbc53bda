/**
 * Builds the bundled time-series model, models/sits-tiny.onnx, and writes its sha256 into
 * sits-tiny.json.
 *
 * It is not SITS-Former: each pixel's patch is averaged, its clear dates are resampled onto
 * day-of-year bins (lib/series/doy.bins.ts), and a linear discriminant scores the binned season.
 * It is fitted, as crop-tiny is, to pixels drawn from the synthetic world's own class signatures
 * (phenology curves, spectra, per-field variation, noise), here observed on the world's own
 * acquisition schedules (scripts/synth/schedule.ts, both scales) with each date lost to cloud as
 * often as that date's sky says. It takes the series contract (series [B, T, 6, k, k] normalised,
 * doy [B, T], mask [B, T]) and returns [B, 13] logits. The same seed gives the same bytes.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type ClassId, CropClasses } from "../../lib/cdl/classes.ts";
import { ModelsDir } from "../../lib/model/model.manifest.ts";
import { seededRandom } from "../../lib/random.ts";
import { binCentres, binSeason, DoyBins } from "../../lib/series/doy.bins.ts";
import { SeriesManifestParser } from "../../lib/series/series.manifest.ts";
import { acquisitions } from "../../scripts/synth/schedule.ts";
import { FieldVariation } from "../../scripts/synth/tile.render.ts";
import { fitLda } from "./lda.ts";
import { encodeOnnx } from "./onnx.writer.ts";
import { drawField, observe, trainingAccuracy } from "./synthetic.pixels.ts";

const SamplesPerClass = 3000;
const Seed = 20231101;
/** Schedules drawn per scale: different revisit phases and skies. */
const Schedules = 12;

export async function buildSitsTiny(dir = ModelsDir): Promise<{ sha256: string; trainingAccuracy: number }> {
  const manifestFile = join(dir, "sits-tiny.json");
  const manifest = SeriesManifestParser.parse(JSON.parse(await readFile(manifestFile, "utf8")));
  const random = seededRandom(Seed);
  const schedules = (["small", "full"] as const).flatMap((scale) =>
    Array.from({ length: Schedules }, (_, i) =>
      acquisitions(2022, DoyBins.first, DoyBins.last, scale, Seed + i, 0).slice(0, manifest.maxDates),
    ),
  );

  const samples: Float64Array[] = [];
  const labels: number[] = [];
  for (const { id } of CropClasses) {
    for (let s = 0; s < SamplesPerClass; s++) {
      const field = drawField(id as ClassId, random);
      const schedule = schedules[Math.floor(random() * schedules.length)] ?? [];
      const values: Float64Array[] = [];
      const doy: number[] = [];
      const mask: number[] = [];
      for (const date of schedule) {
        // Cloud, its adjacent ring and its shadow: about 1.6 times the cloud's own share.
        mask.push(random() >= Math.min(1, date.cloudTarget * 1.6) ? 1 : 0);
        // The patch mean of nine pixels: a third of one pixel's sensor noise.
        values.push(observe(field, date.doy, FieldVariation.noise / 3, manifest.normalization, random));
        doy.push(date.doy);
      }
      samples.push(binSeason(values, doy, mask));
      labels.push(id - 1);
    }
  }
  const lda = fitLda(samples, labels, CropClasses.length);

  const centres = binCentres();
  const features = centres.length * 6;
  const { series, doy, mask } = manifest.inputs;
  const T = manifest.maxDates;
  const k = manifest.patch;
  const scalar = (name: string, value: number) => ({ name, dims: [1], values: Float32Array.of(value) });
  const bytes = encodeOnnx({
    producer: "crop-map models/build/sits-tiny.build.ts",
    doc: "Patch mean, Gaussian day-of-year binning of the clear dates, linear discriminant; fitted to the synthetic world's phenology.",
    // Opset 11: Unsqueeze and ReduceMean take their axes as attributes (float initializers only).
    opset: 11,
    nodes: [
      {
        op: "ReduceMean",
        inputs: [series],
        outputs: ["pooled"],
        attributes: [
          { name: "axes", ints: [3, 4] },
          { name: "keepdims", int: 0 },
        ],
      },
      { op: "Unsqueeze", inputs: [doy], outputs: ["doy3"], attributes: [{ name: "axes", ints: [2] }] },
      { op: "Unsqueeze", inputs: [mask], outputs: ["mask3"], attributes: [{ name: "axes", ints: [2] }] },
      { op: "Sub", inputs: ["doy3", "centres"], outputs: ["offset"] },
      { op: "Mul", inputs: ["offset", "inverseSigma"], outputs: ["z"] },
      { op: "Mul", inputs: ["z", "z"], outputs: ["z2"] },
      { op: "Mul", inputs: ["z2", "minusHalf"], outputs: ["logKernel"] },
      { op: "Exp", inputs: ["logKernel"], outputs: ["kernel"] },
      { op: "Mul", inputs: ["kernel", "mask3"], outputs: ["weights"] },
      {
        op: "Transpose",
        inputs: ["weights"],
        outputs: ["weightsT"],
        attributes: [{ name: "perm", ints: [0, 2, 1] }],
      },
      { op: "MatMul", inputs: ["weightsT", "pooled"], outputs: ["binSums"] },
      { op: "MatMul", inputs: ["weightsT", "mask3"], outputs: ["binWeights"] },
      { op: "Add", inputs: ["binWeights", "epsilon"], outputs: ["binWeightsE"] },
      { op: "Div", inputs: ["binSums", "binWeightsE"], outputs: ["bins"] },
      { op: "Flatten", inputs: ["bins"], outputs: ["features"], attributes: [{ name: "axis", int: 1 }] },
      {
        op: "Gemm",
        inputs: ["features", "lda", "ldaBias"],
        outputs: [manifest.output.name],
        attributes: [{ name: "transB", int: 1 }],
      },
    ],
    initializers: [
      { name: "centres", dims: [centres.length], values: Float32Array.from(centres) },
      scalar("inverseSigma", 1 / DoyBins.sigma),
      scalar("minusHalf", -0.5),
      scalar("epsilon", DoyBins.epsilon),
      { name: "lda", dims: [CropClasses.length, features], values: Float32Array.from(lda.weights.flat()) },
      { name: "ldaBias", dims: [CropClasses.length], values: Float32Array.from(lda.bias) },
    ],
    inputs: [
      { name: series, shape: ["batch", T, 6, k, k] },
      { name: doy, shape: ["batch", T] },
      { name: mask, shape: ["batch", T] },
    ],
    outputs: [{ name: manifest.output.name, shape: ["batch", CropClasses.length] }],
  });
  await writeFile(join(dir, "sits-tiny.onnx"), bytes);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  await writeFile(manifestFile, `${JSON.stringify({ ...manifest, sha256 }, null, 2)}\n`);
  return { sha256, trainingAccuracy: trainingAccuracy(lda, samples, labels) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { sha256, trainingAccuracy } = await buildSitsTiny();
  console.log(
    `models/sits-tiny.onnx sha256 ${sha256}; accuracy on its own training pixels ${(trainingAccuracy * 100).toFixed(1)} %`,
  );
}
