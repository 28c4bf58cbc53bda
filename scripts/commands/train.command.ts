import { WorkflowFailedError } from "@temporalio/client";
import type { Command } from "commander";
import { loadConfig } from "../../lib/config/config.load.ts";
import {
  TrainableModels,
  type TrainedModel,
  type TrainInput,
  TrainInputFields,
  TrainInputParser,
} from "../../lib/contracts/train.contract.ts";
import { trainWorkflow } from "../../workflows/index.ts";
import { uiLink, withClient } from "../cli.client.ts";
import { InputError, workFailed } from "../cli.errors.ts";
import { checkWorkflowInput, parseNumberOption } from "../cli.inputs.ts";

interface TrainOptions {
  model: string;
  variant: string;
  dataset: string;
  name: string;
  init?: string;
  backbone?: string;
  epochs?: string;
  batch?: string;
  lr?: string;
  weightDecay?: string;
  warmupIters?: string;
  evalEvery?: string;
  seed?: string;
  pretrainEpochs?: string;
  maskRate?: string;
  wait?: boolean;
  json?: boolean;
}

/** A rate as people write learning rates: decimals or an exponent (1.5e-5). */
function rateOption(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\d+(\.\d+)?(e-?\d+)?$/i.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(value))
    throw new InputError(`--${option} '${text}': expected a number such as 1.5e-5`);
  return value;
}

type CountField = "epochs" | "batch" | "warmupIters" | "evalEvery" | "seed" | "pretrainEpochs";
/** A whole-number option, checked against its field's own bounds in the workflow's schema. */
const count = (text: string | undefined, option: string, field: CountField) =>
  text === undefined ? undefined : parseNumberOption(text, option, TrainInputFields.shape[field].unwrap());

/** The training input from the command line, checked with the workflow's schema before anything starts. */
export function trainInputFrom(options: TrainOptions, inferenceQueue: string): TrainInput {
  const variant = options.variant === "full" || options.variant === "reduced" ? options.variant : undefined;
  if (!variant) throw new InputError(`--variant '${options.variant}': expected full or reduced`);
  const input: TrainInput = {
    name: options.name,
    model: options.model as TrainInput["model"],
    variant,
    dataset: options.dataset,
    ...(options.init ? { init: options.init } : {}),
    ...(options.backbone ? { backbone: options.backbone } : {}),
    epochs: count(options.epochs, "epochs", "epochs"),
    batch: count(options.batch, "batch", "batch"),
    lr: rateOption(options.lr, "lr"),
    weightDecay: rateOption(options.weightDecay, "weight-decay"),
    warmupIters: count(options.warmupIters, "warmup-iters", "warmupIters"),
    evalEvery: count(options.evalEvery, "eval-every", "evalEvery"),
    seed: count(options.seed, "seed", "seed"),
    pretrainEpochs: count(options.pretrainEpochs, "pretrain-epochs", "pretrainEpochs"),
    maskRate: rateOption(options.maskRate, "mask-rate"),
    inferenceQueue,
  };
  for (const key of Object.keys(input) as (keyof TrainInput)[])
    if (input[key] === undefined) delete input[key];
  checkWorkflowInput(TrainInputParser, input, "train");
  return input;
}

function printTrained(model: TrainedModel): void {
  const pct = (v: number | null) => (v === null ? "n/a" : `${(v * 100).toFixed(2)} %`);
  console.log(
    `model ${model.name}: best epoch ${model.bestEpoch} of ${model.epochs}; validation aAcc ${pct(model.metrics.aAcc)}, mIoU ${pct(model.metrics.mIoU)}, mAcc ${pct(model.metrics.mAcc)}`,
  );
  if (model.test)
    console.log(
      `  held-out TEST aAcc ${pct(model.test.aAcc)}, mIoU ${pct(model.test.mIoU)}, mAcc ${pct(model.test.mAcc)}`,
    );
  console.log(`  manifest ${model.manifest}`);
  console.log(`  onnx     ${model.onnx}`);
  console.log(`  report   ${model.report}`);
}

export function registerTrainCommand(program: Command): void {
  program
    .command("train")
    .description(
      "fine-tune a model on a chips dataset (the seed config's recipe by default; sits-former: a series dataset, pretrained first with --pretrain-epochs) and register it by name, for run|tile --model",
    )
    .requiredOption("--model <model>", `the architecture: ${TrainableModels.join(", ")}`)
    .requiredOption("--dataset <name>", "a dataset made by crop-map chips (--kind series for sits-former)")
    .requiredOption("--name <model>", "the trained model's name in the registry")
    .option(
      "--variant <variant>",
      "full (the seed's model) or reduced (same operators, smaller: a CPU smoke run)",
      "full",
    )
    .option("--init <pth>", "start from a whole model: an mmseg checkpoint (s3:// or a path on the worker)")
    .option(
      "--backbone <pt>",
      "start from the pretrained encoder: Prithvi_100M.pt, or SITS-Former's checkpoint.bert.tar (s3:// or a path on the worker)",
    )
    .option("--epochs <n>", "epochs (80; sits-former 50)")
    .option("--batch <n>", "chips a step (8; sits-former: series, 128)")
    .option("--lr <x>", "Adam's learning rate after warm-up (1.5e-5; sits-former 2e-4)")
    .option("--weight-decay <x>", "Adam's weight decay (0.05; sits-former 1e-4)")
    .option("--warmup-iters <n>", "linear warm-up, in steps (1500), then poly decay (Prithvi only)")
    .option("--eval-every <n>", "validate every n epochs (5; sits-former 1) and after the last")
    .option("--pretrain-epochs <n>", "sits-former: masked-prediction pretraining on UNLABELLED first (0)")
    .option("--mask-rate <x>", "sits-former: share of dates masked in pretraining (0.3)")
    .option("--seed <n>", "seed of the initial weights, chip order and flips (0)")
    .option("--wait", "wait for the model and print its validation metrics")
    .option("--json", "print JSON")
    .action(async (options: TrainOptions) => {
      const config = loadConfig();
      const input = trainInputFrom(options, config.taskQueues.inference);
      const workflowId = `train-${input.name}`;
      await withClient(config, async (client) => {
        const handle = await client.workflow.start(trainWorkflow, {
          taskQueue: config.taskQueues.cpu,
          workflowId,
          args: [input],
        });
        if (options.json) console.log(JSON.stringify({ workflowId, ui: uiLink(config, workflowId) }));
        else
          console.log(`training ${input.name} (workflow ${workflowId})\n  ui ${uiLink(config, workflowId)}`);
        if (!options.wait) return;
        const model = await handle.result().catch((error: unknown) => {
          throw error instanceof WorkflowFailedError
            ? workFailed(`training ${input.name}`, error, uiLink(config, workflowId))
            : error;
        });
        if (options.json)
          console.log(JSON.stringify({ model: model.name, ...model.metrics, ...model }, null, 2));
        else printTrained(model);
      });
    });
}
