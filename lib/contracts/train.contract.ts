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

/** The architectures the trainer builds (models/train/prithvi_train.py). */
export const TrainableModels = ["prithvi-crop-100m", "prithvi-eo2-300m", "prithvi-eo2-600m"] as const;

/** What `crop-map train` fine-tunes; the seed config's recipe is each field's default. */
export const TrainInputParser = z
  .object({
    /** The trained model's name in the registry. */
    name: TrainedModelNameParser,
    /** The architecture (Prithvi-EO-2.0's TL variants take dates and places a chips dataset lacks). */
    model: z.enum(TrainableModels),
    /** `reduced`: the same operators, smaller (a CPU smoke run); `full`: the seed's model. */
    variant: z.enum(["full", "reduced"]).default("full"),
    /** A `crop-map chips` dataset under the outputs location. */
    dataset: RunIdParser,
    /** A whole model to start from (an mmseg checkpoint, loaded strictly). */
    init: CheckpointLocation.optional(),
    /** The pretrained encoder (Prithvi_100M.pt), loaded strictly with its MAE decoder dropped. */
    backbone: CheckpointLocation.optional(),
    epochs: z.number().int().min(1).max(1000).default(80),
    batch: z.number().int().min(1).max(256).default(8),
    lr: z.number().positive().max(1).default(1.5e-5),
    weightDecay: z.number().min(0).max(10).default(0.05),
    warmupIters: z.number().int().min(0).max(10_000_000).default(1500),
    evalEvery: z.number().int().min(1).max(1000).default(5),
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
  .strict()
  .refine((t) => !(t.init && t.backbone), { message: "give --init or --backbone, not both", path: ["init"] });
export type TrainInput = z.input<typeof TrainInputParser>;
export type TrainSpec = z.output<typeof TrainInputParser>;

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
}

/** The registry's folder of a model under the outputs location. */
export const registryPrefix = (name: string) => `models/${name}/`;
