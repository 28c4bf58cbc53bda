// Model export: the export scripts (models/export) run in their Python environment, for the CLI's
// `model export` and for the training workflow's registration of a trained model.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { z } from "zod";
import { ExportDir, ensureExportEnv, runExportScript } from "./export.env.ts";
import { type ModelClassesParser, ModelsDir } from "./model.manifest.ts";

/** An export refused for its input (unknown model, missing or mismatched checkpoint): exit 2 at the CLI. */
export class ExportRefused extends Error {}

/** Architectures an export script builds, by the manifest it fills in. */
const Exportable: Record<string, string> = {
  "prithvi-crop-100m": "prithvi_export.py",
  "sits-former": "sits_former_export.py",
  "prithvi-eo2-300m": "prithvi_eo2_export.py",
  "prithvi-eo2-300m-tl": "prithvi_eo2_export.py",
  "prithvi-eo2-600m": "prithvi_eo2_export.py",
  "prithvi-eo2-600m-tl": "prithvi_eo2_export.py",
};

/** Prithvi-EO-2.0's one script builds four models: it is told which. */
const ModelArgument = (model: string) =>
  Exportable[model] === "prithvi_eo2_export.py" ? ["--model", model] : [];

export interface ExportOptions {
  checkpoint?: string;
  out: string;
  size?: "full" | "reduced";
  seed?: number;
  parityBatches?: string;
  /** Largest |dlogit| the parity check allows, relative to the largest |logit| (1e-4; fp16 1e-2). */
  tolerance?: number;
  /** fp16: half precision inside the graph, float32 inputs and outputs. */
  precision?: "fp32" | "fp16";
  /** Also write the weights as an mmseg-layout checkpoint (tests load it back strictly). */
  writeCheckpoint?: string;
  /** Prithvi-EO-2.0: also write the encoder in the pretrained backbone files' layout (tests load it strictly). */
  writeBackbone?: string;
  /** Prithvi-EO-2.0: a pretrained file whose encoder is loaded strictly by its key names (a check of the file). */
  backbone?: string;
  /** The exported model's name (a trained model's); by default from the model, size and weights. */
  name?: string;
  /** Window side in pixels: 224, or another multiple of 16 for the reduced variant. */
  imgSize?: number;
  /** sits-former: attention heads, which no tensor shape shows; required where the checkpoint does not record them. */
  heads?: number;
  /** sits-former: the staged S30 band feeding each of the checkpoint's bands, in its order. */
  bands?: string[];
  /** sits-former: the crop-map class of each of the checkpoint's outputs, in order. */
  classes?: z.infer<typeof ModelClassesParser>;
}

/** Options only SITS-Former's export reads; refused for another model rather than ignored. */
const SitsOnly = { heads: "--heads", bands: "--bands", classes: "--classes" } as const;

/**
 * The model name an export gets: random weights, reduced sizes and half precision are never the
 * real model's name.
 */
export function exportedName(
  model: string,
  options: Pick<ExportOptions, "checkpoint" | "size" | "precision">,
): string {
  const reduced = model.endsWith("-100m") ? model.replace(/-100m$/, "-reduced") : `${model}-reduced`;
  const base = `${options.size === "reduced" ? reduced : model}${options.precision === "fp16" ? "-fp16" : ""}`;
  return options.checkpoint ? base : `${base}-random`;
}

/** Exports a model to ONNX with its parity check and manifest; returns the export report (JSON). */
export async function exportModel(model: string, options: ExportOptions, log: (line: string) => void) {
  const script = Exportable[model];
  if (!script)
    throw new ExportRefused(`model '${model}': the export builds ${Object.keys(Exportable).join(", ")}`);
  if (options.checkpoint && !existsSync(options.checkpoint))
    throw new ExportRefused(`--checkpoint ${options.checkpoint}: no such file`);
  const given = Object.entries(SitsOnly).filter(
    ([key]) => options[key as keyof typeof SitsOnly] !== undefined,
  );
  if (model !== "sits-former" && given.length > 0)
    throw new ExportRefused(
      `${given.map(([, flag]) => flag).join(", ")}: sits-former's options, not ${model}'s`,
    );
  if (model === "sits-former" && options.checkpoint && options.size)
    throw new ExportRefused(
      `--size ${options.size}: sits-former's architecture is read from the checkpoint; --size is for random weights`,
    );
  for (const [option, flag] of [
    ["writeBackbone", "--write-backbone"],
    ["backbone", "--backbone"],
  ] as const)
    if (options[option] && ModelArgument(model).length === 0)
      throw new ExportRefused(`${flag}: Prithvi-EO-2.0's option, not ${model}'s`);
  if (options.backbone && !existsSync(options.backbone))
    throw new ExportRefused(`--backbone ${options.backbone}: no such file`);
  const python = await ensureExportEnv(log);
  const name = options.name ?? exportedName(model, options);
  const args = [
    "--out",
    resolve(options.out),
    "--name",
    name,
    "--size",
    options.size ?? "full",
    "--seed",
    String(options.seed ?? 0),
    "--manifest-template",
    resolve(ModelsDir, `${model}.json`),
    ...ModelArgument(model),
  ];
  if (options.checkpoint) args.push("--checkpoint", resolve(options.checkpoint));
  if (options.parityBatches) args.push("--parity-batches", options.parityBatches);
  if (options.tolerance !== undefined) args.push("--tolerance", String(options.tolerance));
  if (options.writeCheckpoint) args.push("--write-checkpoint", resolve(options.writeCheckpoint));
  if (options.imgSize) args.push("--img-size", String(options.imgSize));
  if (options.writeBackbone) args.push("--write-backbone", resolve(options.writeBackbone));
  if (options.backbone) args.push("--backbone", resolve(options.backbone));
  if (options.heads !== undefined) args.push("--heads", String(options.heads));
  if (options.bands) args.push("--bands", options.bands.join(","));
  if (options.classes) args.push("--classes", JSON.stringify(options.classes));
  if (options.precision) args.push("--precision", options.precision);
  const { code, stdout, stderr } = await runExportScript(args, python, join(ExportDir, script));
  const why =
    stderr
      .trim()
      .split("\n")
      .at(-1)
      ?.replace(/^crop-map: /, "") ?? "";
  if (code === 2) throw new ExportRefused(`export of ${model}: ${why}`);
  if (code !== 0) throw new Error(`export of ${model} failed with exit code ${code}: ${why}`);
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as {
    name: string;
    onnx: string;
    sha256: string;
    parity: { maxAbsLogitDiff: number; argmaxAgreement: number; relativeLogitDiff: number };
    /** Prithvi's exports (100M and EO-2.0) only. */
    flopsPerWindow?: number;
  };
}
