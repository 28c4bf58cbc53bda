import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { z } from "zod";
import { describeIssues } from "../../lib/contracts/issue.lines.ts";
import { ModelBands } from "../../lib/hls/lpdaac.keys.ts";
import { ensureExportEnv } from "../../lib/model/export.env.ts";
import { ExportRefused, exportModel } from "../../lib/model/model.export.ts";
import { ModelClassesParser } from "../../lib/model/model.manifest.ts";
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

/** Attention heads: PyTorch splits the hidden size evenly among them (the export checks it divides). */
const HeadsParser = z.number().int().min(1).max(64);

/** The staged band feeding each checkpoint band: one of the six the pipeline stages, by S30 name. */
const BandsParser = z.array(z.enum(ModelBands.S30)).min(1).max(32);

function parseBands(text: string): string[] {
  const bands = text.split(",").map((b) => b.trim());
  const parsed = BandsParser.safeParse(bands);
  if (!parsed.success) throw new InputError(`--bands '${text}': ${describeIssues(parsed.error, bands)}`);
  return parsed.data;
}

/** A classes file: the manifest's own `classes` form, one entry per output of the checkpoint. */
async function readClasses(file: string): Promise<z.infer<typeof ModelClassesParser>> {
  const text = await readFile(file, "utf8").catch(() => {
    throw new InputError(`--classes ${file}: no such file`);
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`--classes ${file}: not JSON: ${(error as Error).message}`);
  }
  const parsed = ModelClassesParser.safeParse(json);
  if (!parsed.success) throw new InputError(`--classes ${file}: ${describeIssues(parsed.error, json)}`);
  return parsed.data;
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
      "prithvi-crop-100m: the official multi_temporal_crop_classification_Prithvi_100M.pth; sits-former: a fine-tuned BERTClassification checkpoint of the original code or of crop-map (its architecture read from its shapes)",
    )
    .option(
      "--backbone <pt>",
      "prithvi-eo2-*: a pretrained Prithvi_EO_V2_*.pt, its encoder loaded strictly by its key names over the seeded weights (a check of the file; decoder and head untrained)",
    )
    .option(
      "--size <size>",
      "full (the seed's architecture, the default) or reduced (same operators, smaller; for tests); sits-former: random weights only",
    )
    .option(
      "--heads <n>",
      "sits-former: attention heads, where the checkpoint does not record them (the original's: 8)",
    )
    .option(
      "--bands <list>",
      `sits-former: the staged band (${ModelBands.S30.join(", ")}) feeding each of the checkpoint's bands, comma separated`,
    )
    .option(
      "--classes <file>",
      "sits-former: JSON [{id, name}], the crop-map class of each of the checkpoint's outputs",
    )
    .option("--seed <n>", "seed of the random weights and of the parity inputs", "0")
    .option("--parity-batches <list>", "batch sizes the parity check runs, comma separated", "2,1")
    .option(
      "--tolerance <x>",
      "parity: largest |dlogit| allowed, relative to the largest |logit| (default 0.0001; fp16 0.01)",
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
          backbone?: string;
          size?: string;
          seed: string;
          parityBatches: string;
          tolerance?: string;
          precision: string;
          heads?: string;
          bands?: string;
          classes?: string;
        },
      ) => {
        if (options.size !== undefined && !["full", "reduced"].includes(options.size))
          throw new InputError(`--size '${options.size}': expected full or reduced`);
        if (!["fp32", "fp16"].includes(options.precision))
          throw new InputError(`--precision '${options.precision}': expected fp32 or fp16`);
        const report = await exportModel(
          name,
          {
            ...options,
            size: options.size as "full" | "reduced" | undefined,
            precision: options.precision as "fp32" | "fp16",
            seed: parseNumberOption(options.seed, "seed", SeedParser),
            tolerance:
              options.tolerance === undefined
                ? undefined
                : parseNumberOption(options.tolerance, "tolerance", ToleranceParser),
            heads:
              options.heads === undefined
                ? undefined
                : parseNumberOption(options.heads, "heads", HeadsParser),
            bands: options.bands === undefined ? undefined : parseBands(options.bands),
            classes: options.classes === undefined ? undefined : await readClasses(options.classes),
          },
          (line) => console.error(line),
        ).catch((error: unknown) => {
          throw error instanceof ExportRefused ? new InputError(error.message) : error;
        });
        console.log(JSON.stringify(report, null, 2));
      },
    );
}
