import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

const SixBands = z.array(z.string().min(1)).length(6);
const Six = z.array(z.number()).length(6);

/** What the pipeline needs to know about a model to feed it and read it; one JSON file per model in models/. */
export const ModelManifestParser = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lower-case letters, digits and hyphens"),
    description: z.string(),
    /** ONNX file: a path (relative to models/) or an s3:// URL. */
    onnx: z.string().min(1),
    /** sha256 of the ONNX file, checked on load; "unset" for a model the user has not supplied yet. */
    sha256: z.union([z.string().regex(/^[0-9a-f]{64}$/), z.literal("unset")]),
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
    dates: z.number().int().positive(),
    bands: z.object({ S30: SixBands, L30: SixBands }).strict(),
    /** Per-band (x - mean) / std on reflectance as stored (x 10000); repeated for each date. */
    normalization: z.object({ mean: Six, std: Six }).strict(),
    classes: z
      .array(
        z
          .object({
            id: z.number().int().min(1).max(254),
            name: z.string(),
            color: z.tuple([
              z.number().int().min(0).max(255),
              z.number().int().min(0).max(255),
              z.number().int().min(0).max(255),
            ]),
          })
          .strict(),
      )
      .min(2),
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

export async function loadModelManifest(name: string, dir = ModelsDir): Promise<ModelManifest> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name))
    throw new ModelManifestError(`model name '${name}' is not a manifest name`);
  const file = join(dir, `${name}.json`);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new ModelManifestError(`model '${name}' is not in ${dir} (no ${name}.json)`);
  }
  const parsed = ModelManifestParser.safeParse(JSON.parse(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ModelManifestError(`model manifest ${file}: ${issue?.path.join(".")}: ${issue?.message}`);
  }
  return parsed.data;
}

/** Where the ONNX file is: s3:// URLs as they are, paths resolved against models/. */
export function onnxLocation(manifest: ModelManifest, dir = ModelsDir): string {
  return manifest.onnx.startsWith("s3://") || isAbsolute(manifest.onnx)
    ? manifest.onnx
    : join(dir, manifest.onnx);
}
