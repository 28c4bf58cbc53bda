import type { Command } from "commander";
import { z } from "zod";
import { ensureExportEnv } from "../../lib/model/export.env.ts";
import { ExportRefused, exportModel } from "../../lib/model/model.export.ts";
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
    .option(
      "--tolerance <x>",
      "parity: largest |dlogit| allowed, relative to the largest |logit| (default 1e-4; fp16 1e-2)",
    )
    .option(
      "--precision <p>",
      "fp32, or fp16: half-precision weights and arithmetic behind float32 inputs and outputs (casts inside the graph)",
      "fp32",
    )
    .action(
      async (
        name: string,
        options: {
          out: string;
          checkpoint?: string;
          size: string;
          seed: string;
          parityBatches: string;
          tolerance?: string;
          precision: string;
        },
      ) => {
        if (!["full", "reduced"].includes(options.size))
          throw new InputError(`--size '${options.size}': expected full or reduced`);
        if (!["fp32", "fp16"].includes(options.precision))
          throw new InputError(`--precision '${options.precision}': expected fp32 or fp16`);
        const report = await exportModel(
          name,
          {
            out: options.out,
            ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}),
            parityBatches: options.parityBatches,
            size: options.size as "full" | "reduced",
            precision: options.precision as "fp32" | "fp16",
            seed: parseNumberOption(options.seed, "seed", SeedParser),
            ...(options.tolerance === undefined
              ? {}
              : { tolerance: parseNumberOption(options.tolerance, "tolerance", ToleranceParser) }),
          },
          (line) => console.error(line),
        ).catch((error: unknown) => {
          throw error instanceof ExportRefused ? new InputError(error.message) : error;
        });
        console.log(JSON.stringify(report, null, 2));
      },
    );
}
