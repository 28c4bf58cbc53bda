import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { z } from "zod";
import { ExportDir, ensureExportEnv, runExportScript } from "../../lib/model/export.env.ts";
import { ModelsDir } from "../../lib/model/model.manifest.ts";
import { InputError } from "../cli.errors.ts";
import { parseNumberOption } from "../cli.inputs.ts";

/** A parity tolerance: fp32 rounding is about 1e-7 of the logits; above 1e-2 parity means nothing. */
const ToleranceParser = z.number().positive().max(1e-2);

/** Seeds of the random weights: what torch.manual_seed takes without wrapping. */
const SeedParser = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);

/** Architectures an export script builds, by the manifest it fills in. */
const Exportable: Record<string, string> = {
  "prithvi-crop-100m": "prithvi_export.py",
  "sits-former": "sits_former_export.py",
};

export interface ExportOptions {
  checkpoint?: string;
  out: string;
  size?: "full" | "reduced";
  seed?: number;
  parityBatches?: string;
  /** Largest |dlogit| the parity check allows, relative to the largest |logit| (1e-4). */
  tolerance?: number;
  /** Also write the weights as an mmseg-layout checkpoint (tests load it back strictly). */
  writeCheckpoint?: string;
}

/** The model name an export gets: random weights and reduced sizes are never the real model's name. */
export function exportedName(model: string, options: Pick<ExportOptions, "checkpoint" | "size">): string {
  const reduced = model.endsWith("-100m") ? model.replace(/-100m$/, "-reduced") : `${model}-reduced`;
  const base = options.size === "reduced" ? reduced : model;
  return options.checkpoint ? base : `${base}-random`;
}

/** Exports a model to ONNX with its parity check and manifest; returns the export report (JSON). */
export async function exportModel(model: string, options: ExportOptions, log: (line: string) => void) {
  const script = Exportable[model];
  if (!script)
    throw new InputError(`model '${model}': the export builds ${Object.keys(Exportable).join(", ")}`);
  if (options.checkpoint && !existsSync(options.checkpoint))
    throw new InputError(`--checkpoint ${options.checkpoint}: no such file`);
  const python = await ensureExportEnv(log);
  const name = exportedName(model, options);
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
  ];
  if (options.checkpoint) args.push("--checkpoint", resolve(options.checkpoint));
  if (options.parityBatches) args.push("--parity-batches", options.parityBatches);
  if (options.tolerance !== undefined) args.push("--tolerance", String(options.tolerance));
  if (options.writeCheckpoint) args.push("--write-checkpoint", resolve(options.writeCheckpoint));
  const { code, stdout, stderr } = await runExportScript(args, python, join(ExportDir, script));
  const why =
    stderr
      .trim()
      .split("\n")
      .at(-1)
      ?.replace(/^crop-map: /, "") ?? "";
  if (code === 2) throw new InputError(`export of ${model}: ${why}`);
  if (code !== 0) throw new Error(`export of ${model} failed with exit code ${code}: ${why}`);
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as {
    name: string;
    onnx: string;
    sha256: string;
    parity: { maxAbsLogitDiff: number; argmaxAgreement: number };
    /** Prithvi's exports only. */
    flopsPerWindow?: number;
  };
}

export function registerModelCommand(program: Command): void {
  const model = program.command("model").description("model exports and their Python environment");
  model
    .command("setup")
    .description("install the export's pinned Python environment (PyTorch from PyPI) into ~/.cache/crop-map")
    .action(async () => {
      console.log(await ensureExportEnv((line) => console.error(line)));
    });
  model
    .command("export <model>")
    .description(
      "export a model to ONNX with a parity check against PyTorch and a manifest carrying its sha256; " +
        "without --checkpoint, seeded random weights",
    )
    .requiredOption("--out <dir>", "folder for <name>.onnx, <name>.json and <name>.export.json")
    .option(
      "--checkpoint <pth>",
      "prithvi-crop-100m: the official multi_temporal_crop_classification_Prithvi_100M.pth; sits-former: a fine-tuned BERTClassification state dict for HLS's six bands",
    )
    .option(
      "--size <size>",
      "full (the seed's architecture) or reduced (same operators, smaller; for tests)",
      "full",
    )
    .option("--seed <n>", "seed of the random weights and of the parity inputs", "0")
    .option("--parity-batches <list>", "batch sizes the parity check runs, comma separated", "2,1")
    .option("--tolerance <x>", "parity: largest |dlogit| allowed, relative to the largest |logit|", "1e-4")
    .action(
      async (
        name: string,
        options: {
          out: string;
          checkpoint?: string;
          size: string;
          seed: string;
          parityBatches: string;
          tolerance: string;
        },
      ) => {
        if (!["full", "reduced"].includes(options.size))
          throw new InputError(`--size '${options.size}': expected full or reduced`);
        const report = await exportModel(
          name,
          {
            ...options,
            size: options.size as "full" | "reduced",
            seed: parseNumberOption(options.seed, "seed", SeedParser),
            tolerance: parseNumberOption(options.tolerance, "tolerance", ToleranceParser),
          },
          (line) => console.error(line),
        );
        console.log(JSON.stringify(report, null, 2));
      },
    );
}
