import { z } from "zod";
import { SeriesChunk } from "../contracts/series.index.ts";
import { resolveTiling, type Tiling } from "../contracts/tiling.contract.ts";
import { TrainingRecordParser } from "../contracts/train.contract.ts";
import {
  ModelBandsParser,
  ModelClassesParser,
  type ModelManifest,
  ModelManifestError,
  ModelManifestParser,
  ModelNameParser,
  ModelPrecisionParser,
  type ModelRegistry,
  ModelsDir,
  manifestFamily,
  NormalizationParser,
  readManifestFile,
  Sha256Parser,
} from "../model/model.manifest.ts";

/**
 * How a series model's inputs are scaled from reflectance as stored (x 10000): a per-band z-score,
 * or (SITS-Former's original code) a plain division with no z-score.
 */
export const SeriesNormalizationParser = z.union(
  [NormalizationParser, z.object({ divideBy: z.number().positive() }).strict()],
  {
    error:
      "expected { mean, std } (a z-score per band of reflectance as stored) or { divideBy } (reflectance divided by it, no z-score)",
  },
);
export type SeriesNormalization = z.infer<typeof SeriesNormalizationParser>;

/** Per band b, the model is fed (x - offset[b]) / divisor[b] for reflectance x as stored. */
export function bandScaling(n: SeriesNormalization): { offset: number[]; divisor: number[] } {
  if ("divideBy" in n) return { offset: Array(6).fill(0), divisor: Array(6).fill(n.divideBy) };
  return { offset: [...n.mean], divisor: [...n.std] };
}

/**
 * What a SITS-Former export was built as: what its checkpoint's tensor shapes showed, and the
 * attention heads, which no shape shows (from the checkpoint's record or `--heads`).
 */
const SitsFormerArchitectureParser = z
  .object({
    kind: z.literal("sits-former"),
    /** The staged S30 band feeding each of the model's own bands, in its order (gathered in the graph). */
    inputBands: z.array(z.string().min(1)).min(1),
    bandKernels: z.tuple([z.number().int().positive(), z.number().int().positive()]),
    hidden: z.number().int().positive(),
    layers: z.number().int().positive(),
    heads: z.number().int().positive(),
  })
  .strict();

/**
 * A time-series model (SITS-Former style): every clear observation of the season, each a small
 * patch around the pixel with its day of year, one class for the patch's centre pixel. Inputs:
 * `series` [B, maxDates, 6, patch, patch] normalised per band, `doy` [B, maxDates] (day of year,
 * 0 where padded), `mask` [B, maxDates] (1 for a clear observation of the centre pixel, 0 for a
 * cloudy or padded date); output [B, classes] logits.
 */
export const SeriesManifestParser = z
  .object({
    family: z.literal("series"),
    name: ModelNameParser,
    description: z.string(),
    /** ONNX file: a path (relative to models/) or an s3:// URL. */
    onnx: z.string().min(1),
    /** sha256 of the ONNX file, checked on load; "unset" for a model not exported yet. */
    sha256: Sha256Parser,
    inputs: z.object({ series: z.string().min(1), doy: z.string().min(1), mask: z.string().min(1) }).strict(),
    output: z.object({ name: z.string().min(1), classes: z.number().int().positive() }).strict(),
    /**
     * T: dates per pixel the model takes. A season with fewer clear observations is padded and
     * masked; one with more keeps the T with the most clear pixels (the tile manifest says which).
     */
    maxDates: z.number().int().min(1).max(512),
    /** Side of the square patch around each pixel (odd, so the pixel is its centre). */
    patch: z
      .number()
      .int()
      .min(1)
      .max(15)
      .refine((k) => k % 2 === 1, "must be odd"),
    bands: ModelBandsParser,
    normalization: SeriesNormalizationParser,
    classes: ModelClassesParser,
    /** Written by `model export sits-former`; the pipeline feeds the six staged bands either way. */
    architecture: SitsFormerArchitectureParser.optional(),
    precision: ModelPrecisionParser.optional(),
    /** A model made by `crop-map train --model sits-former`: its dataset, recipe and metrics. */
    training: TrainingRecordParser.optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.classes.length !== m.output.classes) {
      ctx.addIssue({
        code: "custom",
        path: ["classes"],
        message: `lists ${m.classes.length} classes, output has ${m.output.classes}`,
      });
    }
  });
export type SeriesManifest = z.infer<typeof SeriesManifestParser>;

export type AnyModelManifest = ({ family?: "chip" } & ModelManifest) | SeriesManifest;

export function isSeries(manifest: AnyModelManifest): manifest is SeriesManifest {
  return manifest.family === "series";
}

/**
 * A series-family manifest, bundled in `dir` or else registered (a model `crop-map train` made); a
 * manifest of another family is refused, naming it.
 */
export async function loadSeriesManifest(
  name: string,
  dir = ModelsDir,
  registry?: ModelRegistry,
): Promise<SeriesManifest> {
  return readManifestFile(
    name,
    dir,
    (json) => {
      const family = manifestFamily(json);
      if (family !== "series")
        throw new ModelManifestError(`model '${name}' is of the ${family} family, not a series model`);
      return SeriesManifestParser;
    },
    registry,
  );
}

/** Any family's manifest, by the family it declares. */
export async function loadAnyManifest(
  name: string,
  dir = ModelsDir,
  registry?: ModelRegistry,
): Promise<AnyModelManifest> {
  return readManifestFile(
    name,
    dir,
    (json) => {
      const family = manifestFamily(json);
      if (family === "series") return SeriesManifestParser;
      if (family === "chip") return ModelManifestParser;
      throw new ModelManifestError(`model '${name}': unknown family '${family}' (chip or series)`);
    },
    registry,
  );
}

/**
 * What the workflows need of a model: the staging chip and, for a series model, its dates; for a
 * chip model, the tiling its manifest names. For a series model the "chip" is the staged grid's
 * least size and chunk (patches are cut per pixel).
 */
export async function pipelineShape(
  name: string,
  dir = ModelsDir,
  registry?: ModelRegistry,
): Promise<{ chip: { size: number; stride: number }; series?: { maxDates: number }; tiling?: Tiling }> {
  const manifest = await loadAnyManifest(name, dir, registry);
  if (isSeries(manifest))
    return {
      chip: { size: Math.max(manifest.patch, SeriesChunk), stride: SeriesChunk },
      series: { maxDates: manifest.maxDates },
    };
  return { chip: manifest.chip, tiling: resolveTiling(manifest.chip, {}, manifest.tiling) };
}
