// Fine-tuning (`crop-map train`): the workflow's input, the trainer's progress lines, the trained
// model's record in its manifest and what the workflow returns.
import { z } from "zod";
import { HeartbeatSecondsParser, RunIdParser } from "./run.contract.ts";

/** A model name: what `run --model` and the registry take (as models/<name>.json). */
export const TrainedModelNameParser = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "expected lowercase letters, digits and '-' (at most 63)");

/** A checkpoint to start from: an s3:// URL, or an absolute path on the inference worker. */
const CheckpointLocation = z
  .string()
  .min(1)
  .max(1024)
  .refine((s) => s.startsWith("s3://") || s.startsWith("/"), "expected an s3:// URL or an absolute path");

/** The architectures the trainers build (models/train/prithvi_train.py, sits_former_train.py). */
export const TrainableModels = [
  "prithvi-crop-100m",
  "prithvi-eo2-300m",
  "prithvi-eo2-600m",
  "sits-former",
] as const;

/**
 * SITS-Former's recipe where the input leaves a field out (the original code's fine-tuning: Adam at
 * 2e-4, weight decay 1e-4, batch 128, 50 epochs, validation every epoch); the object's own defaults
 * are the Prithvi seed config's.
 */
const SitsFormerDefaults = {
  epochs: 50,
  batch: 128,
  lr: 2e-4,
  weightDecay: 1e-4,
  warmupIters: 0,
  evalEvery: 1,
};

/** The training input's fields; the seed config's recipe is each field's default. */
export const TrainInputFields = z
  .object({
    /** The trained model's name in the registry. */
    name: TrainedModelNameParser,
    /** The architecture (Prithvi-EO-2.0's TL variants take dates and places a chips dataset lacks). */
    model: z.enum(TrainableModels),
    /** `reduced`: the same operators, smaller (a CPU smoke run); `full`: the seed's model. */
    variant: z.enum(["full", "reduced"]).default("full"),
    /** A `crop-map chips` dataset under the outputs location (`--kind series` for sits-former). */
    dataset: RunIdParser,
    /** A whole model to start from (an mmseg checkpoint, loaded strictly). */
    init: CheckpointLocation.optional(),
    /** The pretrained encoder (Prithvi_100M.pt; SITS-Former's checkpoint.bert.tar), loaded strictly. */
    backbone: CheckpointLocation.optional(),
    epochs: z.number().int().min(1).max(1000).default(80),
    batch: z.number().int().min(1).max(256).default(8),
    lr: z.number().positive().max(1).default(1.5e-5),
    weightDecay: z.number().min(0).max(10).default(0.05),
    warmupIters: z.number().int().min(0).max(10_000_000).default(1500),
    evalEvery: z.number().int().min(1).max(1000).default(5),
    /** sits-former: epochs of masked-prediction pretraining on the dataset's UNLABELLED series first. */
    pretrainEpochs: z.number().int().min(0).max(10_000).optional(),
    /** sits-former: share of each series' dates masked in pretraining (the original's README: 0.3). */
    maskRate: z.number().gt(0).lt(1).optional(),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(0),
    /** The queue of the pool that trains (the inference pool: GPU hosts poll it). */
    inferenceQueue: z.string().min(1).max(200),
    heartbeatSeconds: HeartbeatSecondsParser.default(300),
  })
  .strict();

/** SITS-Former's defaults for the fields an input leaves out; Prithvi's input is taken as it is. */
function withModelDefaults(raw: unknown): unknown {
  if (typeof raw !== "object" || raw === null || (raw as { model?: unknown }).model !== "sits-former")
    return raw;
  const out: Record<string, unknown> = { ...raw };
  for (const [key, value] of Object.entries(SitsFormerDefaults)) if (out[key] === undefined) out[key] = value;
  return out;
}

export const TrainInputParser = z.preprocess(
  withModelDefaults,
  TrainInputFields.superRefine((t, ctx) => {
    if (t.init && t.backbone)
      ctx.addIssue({ code: "custom", path: ["init"], message: "give --init or --backbone, not both" });
    if (t.model === "sits-former" && t.init)
      ctx.addIssue({
        code: "custom",
        path: ["init"],
        message: "sits-former starts from --backbone (an encoder) or random weights",
      });
    if (t.model !== "sits-former")
      for (const field of ["pretrainEpochs", "maskRate"] as const)
        if (t[field] !== undefined)
          ctx.addIssue({
            code: "custom",
            path: [field],
            message: "is sits-former's (masked-prediction pretraining)",
          });
  }),
);
export type TrainInput = z.input<typeof TrainInputFields>;
export type TrainSpec = z.output<typeof TrainInputFields>;

/** One line of the trainer's stdout (models/train/prithvi_train.py). */
export const TrainerEventParser = z.discriminatedUnion("event", [
  z.object({ event: z.literal("start"), trainChips: z.number(), valChips: z.number() }).passthrough(),
  z.object({ event: z.literal("resumed"), epoch: z.number(), iteration: z.number() }).passthrough(),
  z.object({ event: z.literal("step"), epoch: z.number(), step: z.number(), loss: z.number() }).passthrough(),
  z
    .object({
      event: z.literal("eval"),
      epoch: z.number(),
      mIoU: z.number().nullable(),
      confusion: z.array(z.array(z.number())),
    })
    .passthrough(),
  z.object({ event: z.literal("checkpoint"), epoch: z.number(), loss: z.number() }).passthrough(),
  z
    .object({
      event: z.literal("done"),
      best: z
        .object({ epoch: z.number(), mIoU: z.number(), confusion: z.array(z.array(z.number())) })
        .passthrough(),
      history: z.array(
        z
          .object({ epoch: z.number(), loss: z.number(), mIoU: z.number().nullable().optional() })
          .passthrough(),
      ),
      /** Where a retried trainer picked up: after which epoch, at which step. */
      resumes: z.array(z.object({ epoch: z.number(), iteration: z.number() })).default([]),
      /** The trainer process's peak resident memory: what a training host needs for this model and batch. */
      peakRssMb: z.number().optional(),
    })
    .passthrough(),
]);
export type TrainerEvent = z.infer<typeof TrainerEventParser>;

const Rate = z.number().nullable();

/** Validation metrics in the seed's definitions (lib/accuracy/confusion.ts); NaN is written as null. */
export const TrainedMetricsParser = z
  .object({
    aAcc: Rate,
    mIoU: Rate,
    mAcc: Rate,
    perClass: z.array(z.object({ id: z.number().int(), iou: Rate, acc: Rate, pixels: z.number() }).strict()),
  })
  .strict();
export type TrainedMetrics = z.infer<typeof TrainedMetricsParser>;

/** Where a trained model came from, in its manifest. */
export const TrainingRecordParser = z
  .object({
    dataset: z.string(),
    datasetSha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** The training input's digest: a repeated `train` of the same input finds this model. */
    inputDigest: z.string(),
    base: z.string(),
    variant: z.enum(["full", "reduced"]),
    epochs: z.number().int(),
    bestEpoch: z.number().int(),
    metrics: TrainedMetricsParser,
    /** The best epoch on held-out series (a series dataset's TEST), where the dataset has them. */
    test: TrainedMetricsParser.optional(),
    /** sits-former: epochs of masked-prediction pretraining before fine-tuning. */
    pretrainEpochs: z.number().int().optional(),
    report: z.string(),
  })
  .strict();
export type TrainingRecord = z.infer<typeof TrainingRecordParser>;

/** What the training workflow returns: names and URLs, the validation metrics. */
export interface TrainedModel {
  name: string;
  manifest: string;
  onnx: string;
  report: string;
  bestEpoch: number;
  epochs: number;
  metrics: TrainedMetrics;
  test?: TrainedMetrics;
}

/** The registry's folder of a model under the outputs location. */
export const registryPrefix = (name: string) => `models/${name}/`;
