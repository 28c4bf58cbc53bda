import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import { CropClasses } from "../cdl/classes.ts";
import { TilingKindParser } from "../contracts/tiling.contract.ts";
import { TrainingRecordParser } from "../contracts/train.contract.ts";
import { formatS3Url, type S3Location } from "../core/s3.url.ts";
import { getJson, ref } from "../storage/s3.objects.ts";

const SixBands = z.array(z.string().min(1)).length(6);
const Six = z.array(z.number()).length(6);

export const ModelNameParser = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, "lower-case letters, digits and hyphens");
export const Sha256Parser = z.union([z.string().regex(/^[0-9a-f]{64}$/), z.literal("unset")]);
export const ModelBandsParser = z.object({ S30: SixBands, L30: SixBands }).strict();
/** Per-band (x - mean) / std on reflectance as stored (x 10000). */
export const NormalizationParser = z.object({ mean: Six, std: Six }).strict();
/**
 * What an exported graph computes in and takes (`model export --precision`): an fp16 graph casts
 * float32 inputs to half and its logits back, so the pipeline feeds every model float32; with its
 * agreement with the float32 model as the export measured it.
 */
export const ModelPrecisionParser = z
  .object({
    graph: z.enum(["fp32", "fp16"]),
    inputs: z.literal("float32"),
    outputs: z.literal("float32"),
    agreementWithFp32: z
      .object({
        argmaxAgreement: z.number().min(0).max(1),
        maxAbsLogitDiff: z.number().min(0),
        relativeLogitDiff: z.number().min(0),
        batches: z.array(z.number().int().positive()),
        measuredOn: z.string(),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * A model's classes by id and name, as its output channels are ordered. Names and colours live in
 * one table (lib/cdl/classes.ts) that maps, mosaics, quicklooks, report, STAC and viewer all read:
 * a manifest is checked against it, so a model cannot relabel or recolour a class.
 */
export const ModelClassesParser = z
  .array(z.object({ id: z.number().int().min(1).max(254), name: z.string() }).strict())
  .min(2)
  .superRefine((classes, ctx) => {
    classes.forEach((c, i) => {
      const known = CropClasses.find((k) => k.id === c.id);
      if (!known)
        ctx.addIssue({ code: "custom", path: [i, "id"], message: `${c.id} is not in the class table` });
      else if (known.name !== c.name)
        ctx.addIssue({
          code: "custom",
          path: [i, "name"],
          message: `'${c.name}': class ${c.id} is '${known.name}' in the class table`,
        });
    });
  });

/** What the pipeline needs to know about a model to feed it and read it; one JSON file per model in models/. */
export const ModelManifestParser = z
  .object({
    /** The chip family (three dates, sliding windows); manifests before families existed omit it. */
    family: z.literal("chip").optional(),
    name: ModelNameParser,
    description: z.string(),
    /** ONNX file: a path (relative to models/) or an s3:// URL. */
    onnx: z.string().min(1),
    /** sha256 of the ONNX file, checked on load; "unset" for a model the user has not supplied yet. */
    sha256: Sha256Parser,
    input: z
      .object({
        name: z.string(),
        /** Batch, channels (dates x bands, time-major), height, width. */
        layout: z.literal("NCHW"),
        channels: z.number().int().positive(),
      })
      .strict(),
    output: z
      .object({ name: z.string(), layout: z.literal("NCHW"), classes: z.number().int().positive() })
      .strict(),
    /** Sliding-window inference: window size and stride in pixels. */
    chip: z.object({ size: z.number().int().positive(), stride: z.number().int().positive() }).strict(),
    precision: ModelPrecisionParser.optional(),
    /** The tiling a run uses unless told otherwise (mmseg when absent): the one the model was evaluated with. */
    tiling: TilingKindParser.optional(),
    dates: z.number().int().positive(),
    /**
     * Prithvi-EO-2.0 TL: the graph's further inputs, fed with every batch: each date's
     * (year, day of year, 1 = 1 January) as [B, dates, 2] and each window centre's (latitude,
     * longitude) in degrees as [B, 2], in the orders the model's encoder reads them.
     */
    coords: z
      .object({ temporal: z.string().min(1), location: z.string().min(1) })
      .strict()
      .optional(),
    bands: ModelBandsParser,
    /** Repeated for each date. */
    normalization: NormalizationParser,
    classes: ModelClassesParser,
    /** A model made by `crop-map train`: its dataset, recipe and validation metrics. */
    training: TrainingRecordParser.optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.input.channels !== m.dates * 6) {
      ctx.addIssue({
        code: "custom",
        path: ["input", "channels"],
        message: `must be dates x 6 = ${m.dates * 6}`,
      });
    }
    if (m.classes.length !== m.output.classes) {
      ctx.addIssue({
        code: "custom",
        path: ["classes"],
        message: `lists ${m.classes.length} classes, output has ${m.output.classes}`,
      });
    }
    if (m.chip.stride > m.chip.size)
      ctx.addIssue({ code: "custom", path: ["chip", "stride"], message: "larger than the window" });
  });
export type ModelManifest = z.infer<typeof ModelManifestParser>;

export const ModelsDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "models");

/** A model name that is not in models/, or a manifest that does not parse. */
export class ModelManifestError extends Error {}

/**
 * The model registry: trained models' manifests and ONNX files in S3, `models/<name>/<name>.json`
 * under a location (the outputs'), where every worker finds them by name.
 */
export interface ModelRegistry {
  s3: S3Client;
  location: S3Location;
}

/** A registered model's manifest key, relative to the registry's location. */
export const registeredManifestKey = (name: string) => `models/${name}/${name}.json`;

/**
 * Reads `<name>.json` from `dir`, or else the registry's manifest of that name, and parses it with
 * `parser`, naming the file and field on failure.
 */
export async function readManifestFile<T extends z.ZodType>(
  name: string,
  dir: string,
  parser: (json: unknown) => T,
  registry?: ModelRegistry,
): Promise<z.output<T>> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name))
    throw new ModelManifestError(`model name '${name}' is not a manifest name`);
  let file = join(dir, `${name}.json`);
  let json: unknown;
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) {
    const key = registeredManifestKey(name);
    json = registry ? await getJson(registry.s3, ref(registry.location, key)) : undefined;
    if (json === undefined)
      throw new ModelManifestError(
        `model '${name}' is not in ${dir} (no ${name}.json)${registry ? ` nor in the registry (${formatS3Url(registry.location, key)})` : ""}`,
      );
    file = formatS3Url(registry?.location as S3Location, key);
  } else {
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ModelManifestError(`model manifest ${file} is not JSON: ${(error as Error).message}`);
    }
  }
  const parsed = parser(json).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ModelManifestError(`model manifest ${file}: ${issue?.path.join(".")}: ${issue?.message}`);
  }
  return parsed.data;
}

/** The family a manifest declares: "chip" when it names none. */
export function manifestFamily(json: unknown): string {
  const family = (json as { family?: unknown } | null)?.family;
  return typeof family === "string" ? family : "chip";
}

/** A chip-family manifest; a manifest of another family is refused, naming it. */
export async function loadModelManifest(
  name: string,
  dir = ModelsDir,
  registry?: ModelRegistry,
): Promise<ModelManifest> {
  return readManifestFile(
    name,
    dir,
    (json) => {
      const family = manifestFamily(json);
      if (family !== "chip")
        throw new ModelManifestError(`model '${name}' is of the ${family} family, not a chip model`);
      return ModelManifestParser;
    },
    registry,
  );
}

/** Where the ONNX file is: s3:// URLs as they are, paths resolved against models/. */
export function onnxLocation(manifest: Pick<ModelManifest, "onnx">, dir = ModelsDir): string {
  return manifest.onnx.startsWith("s3://") || isAbsolute(manifest.onnx)
    ? manifest.onnx
    : join(dir, manifest.onnx);
}
