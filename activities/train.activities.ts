import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { cancellationSignal, heartbeat, log } from "@temporalio/activity";
import { z } from "zod";
import { metrics as seedMetrics } from "../lib/accuracy/confusion.ts";
import type { Config } from "../lib/config/config.schema.ts";
import {
  registryPrefix,
  type TrainedMetrics,
  type TrainedModel,
  type TrainInput,
  TrainInputParser,
  type TrainingRecord,
  type TrainSpec,
} from "../lib/contracts/train.contract.ts";
import { formatS3Url, parseS3Url, type S3Location } from "../lib/core/s3.url.ts";
import { ensureExportEnv, SitsTrainScript, TrainScript } from "../lib/model/export.env.ts";
import { ExportRefused, exportModel } from "../lib/model/model.export.ts";
import { ModelManifestParser, registeredManifestKey } from "../lib/model/model.manifest.ts";
import { trainingReport } from "../lib/report/training.report.ts";
import { SeriesManifestParser } from "../lib/series/series.manifest.ts";
import { getFile, getJson, putBytes, putFile, putJson, ref } from "../lib/storage/s3.objects.ts";
import { writeSeriesFiles } from "../lib/training/series.files.ts";
import { runTrainer, TrainerFailed } from "../lib/training/trainer.process.ts";
import {
  DatasetError,
  DatasetMissing,
  readDatasetJson,
  writeTrainingArrays,
} from "../lib/training/training.arrays.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";
import { heartbeating } from "./activity.heartbeat.ts";

/** The trainer's held-out evaluation (sits-former: TEST), where the dataset has one. */
const TestedParser = z
  .object({ confusion: z.array(z.array(z.number())) })
  .nullable()
  .optional();

/** A series dataset's files for the trainer, with what the report and record need of them. */
async function seriesArrays(s3: S3Client, outputs: S3Location, dataset: string, dir: string) {
  const { manifest, datasetSha256 } = await writeSeriesFiles(s3, outputs, dataset, dir);
  return { datasetSha256, training: manifest.counts.TRAIN, validation: manifest.counts.VALIDATE, size: 0 };
}

/** What decides a trained model: the input less where and how often it reports. */
export function trainingDigest(spec: TrainSpec): string {
  const { inferenceQueue: _q, heartbeatSeconds: _h, ...decisive } = spec;
  return createHash("sha256").update(JSON.stringify(decisive)).digest("hex").slice(0, 16);
}

const rate = (v: number) => (Number.isNaN(v) ? null : v);

/** The seed's metrics of a confusion matrix ([label][prediction], classes 1..13 as rows 0..12). */
export function trainedMetrics(matrix: number[][]): TrainedMetrics {
  const labelled = matrix.flat().reduce((a, b) => a + b, 0);
  const m = seedMetrics({ classes: matrix.length, matrix, labelled, mapped: labelled });
  return {
    aAcc: rate(m.aAcc),
    mIoU: rate(m.mIoU),
    mAcc: rate(m.mAcc),
    perClass: m.perClass.map((c) => ({ id: c.id, iou: rate(c.iou), acc: rate(c.acc), pixels: c.pixels })),
  };
}

function resultOf(
  manifest: { name: string; onnx: string; training: TrainingRecord },
  manifestUrl: string,
): TrainedModel {
  return {
    name: manifest.name,
    manifest: manifestUrl,
    onnx: manifest.onnx,
    report: manifest.training.report,
    bestEpoch: manifest.training.bestEpoch,
    epochs: manifest.training.epochs,
    metrics: manifest.training.metrics,
    ...(manifest.training.test ? { test: manifest.training.test } : {}),
  };
}

/** A registered manifest of either family, by the family it declares. */
const registeredParser = (json: unknown) =>
  (json as { family?: unknown } | null)?.family === "series" ? SeriesManifestParser : ModelManifestParser;

export function createTrainActivities(s3: S3Client, config: Config) {
  const { outputs, work } = config.storage;

  /** A checkpoint to start from as a local file: s3:// URLs are fetched into `dir`. */
  async function localCheckpoint(location: string, dir: string, flag: string): Promise<string> {
    if (!location.startsWith("s3://")) {
      if (!existsSync(location)) throw nonRetryable("BadInput", `--${flag} ${location}: no such file`);
      return location;
    }
    let object: { bucket: string; key: string };
    try {
      // An object's URL: the location's "prefix" is its key (less the "/" parseS3Url adds).
      const { bucket, prefix } = parseS3Url(location);
      object = { bucket, key: prefix.replace(/\/$/, "") };
    } catch (error) {
      throw nonRetryable("BadInput", `--${flag}: ${(error as Error).message}`);
    }
    const path = join(dir, `${flag}.pth`);
    if (!(await getFile(s3, object, path)))
      throw nonRetryable("BadInput", `--${flag} ${location}: no such object`);
    return path;
  }

  return {
    /**
     * Fine-tunes a model on a chips dataset, then exports its best epoch (by validation mIoU) to
     * ONNX with the parity check and registers it: the manifest last, so a registered name is a
     * finished model. Checkpoints go to the work location after every epoch; a retried activity
     * (a lost worker) resumes from the last one. Repeated with the same input, it finds the model.
     */
    async trainModel(raw: TrainInput): Promise<TrainedModel> {
      const input = parseInput(TrainInputParser, raw, "trainModel");
      const digest = trainingDigest(input);
      const manifestRef = ref(outputs, registeredManifestKey(input.name));
      const manifestUrl = formatS3Url(outputs, registeredManifestKey(input.name));
      const existing = await getJson(s3, manifestRef);
      if (existing !== undefined) {
        const parsed = registeredParser(existing).safeParse(existing);
        const training = parsed.success ? parsed.data.training : undefined;
        if (parsed.success && training?.inputDigest === digest) {
          // The same input, but is it still the same dataset? A dataset made again under its name is not.
          const now = await readDatasetJson(s3, outputs, input.dataset).catch(() => undefined);
          if (now && now.sha256 !== training.datasetSha256)
            throw nonRetryable(
              "BadInput",
              `model '${input.name}' was trained on dataset '${input.dataset}' with dataset.json sha256 ${training.datasetSha256}; it now has ${now.sha256}: train under another --name`,
            );
          return resultOf({ ...parsed.data, training }, manifestUrl);
        }
        throw nonRetryable(
          "BadInput",
          `model '${input.name}' is already registered (${manifestUrl}) from another training; choose another --name`,
        );
      }

      const dir = await mkdtemp(join(tmpdir(), "crop-map-train-"));
      try {
        const data = join(dir, "data");
        const checkpoints = join(dir, "work");
        await mkdir(data);
        await mkdir(checkpoints);
        const series = input.model === "sits-former";
        const arrays = await heartbeating(
          () => ({ phase: "dataset" }),
          series
            ? seriesArrays(s3, outputs, input.dataset, data)
            : writeTrainingArrays(s3, outputs, input.dataset, data),
        ).catch((error: unknown) => {
          if (error instanceof DatasetMissing) throw nonRetryable("BadInput", error.message);
          throw error instanceof DatasetError ? nonRetryable("BadData", error.message) : error;
        });
        const workPrefix = `training/${input.name}/${digest}/`;
        const lastRef = ref(work, `${workPrefix}last.pt`);
        const bestRef = ref(work, `${workPrefix}best.pt`);
        const encoderRef = ref(work, `${workPrefix}encoder.pt`);
        if (await getFile(s3, lastRef, join(checkpoints, "last.pt"))) {
          await getFile(s3, bestRef, join(checkpoints, "best.pt"));
          log.info(`Train:Resume from ${formatS3Url(work, `${workPrefix}last.pt`)}`);
        }
        const args = [
          // The Prithvi trainer builds one of several architectures; SITS-Former's trainer one.
          ...(series ? [] : ["--model", input.model]),
          ...["--data", data, "--work", checkpoints, "--size", input.variant],
          ...["--epochs", String(input.epochs), "--batch", String(input.batch), "--lr", String(input.lr)],
          ...["--weight-decay", String(input.weightDecay), "--eval-every", String(input.evalEvery)],
          ...["--seed", String(input.seed), "--dataset-sha256", arrays.datasetSha256],
          ...(series
            ? [
                ...["--pretrain-epochs", String(input.pretrainEpochs ?? 0)],
                ...(input.maskRate !== undefined ? ["--mask-rate", String(input.maskRate)] : []),
              ]
            : ["--warmup-iters", String(input.warmupIters)]),
        ];
        if (input.init) args.push("--init", await localCheckpoint(input.init, dir, "init"));
        if (input.backbone) args.push("--backbone", await localCheckpoint(input.backbone, dir, "backbone"));

        const python = await heartbeating(
          () => ({ phase: "environment" }),
          ensureExportEnv((l) => log.info(l)),
        );
        let progress: Record<string, unknown> = { phase: "train" };
        const done = await heartbeating(
          () => progress,
          runTrainer(
            python,
            series ? SitsTrainScript : TrainScript,
            args,
            async (event) => {
              if (event.event === "step") {
                progress = { phase: "train", epoch: event.epoch, step: event.step, loss: event.loss };
                heartbeat(progress);
              } else if (event.event === "checkpoint") {
                // The epoch's checkpoint stored before the trainer's next line is read.
                await putFile(s3, lastRef, join(checkpoints, "last.pt"), "application/octet-stream");
                if (existsSync(join(checkpoints, "best.pt")))
                  await putFile(s3, bestRef, join(checkpoints, "best.pt"), "application/octet-stream");
                // SITS-Former's pretrained encoder, as the original saves it: a start for other fine-tunings.
                if (existsSync(join(checkpoints, "encoder.pt")))
                  await putFile(s3, encoderRef, join(checkpoints, "encoder.pt"), "application/octet-stream");
                log.info(`Train:Checkpoint epoch ${event.epoch} loss ${event.loss.toFixed(4)}`);
              }
            },
            cancellationSignal(),
          ),
        ).catch((error: unknown) => {
          if (error instanceof TrainerFailed && error.code === 2)
            throw nonRetryable("BadInput", error.message);
          throw error;
        });

        const exported = await heartbeating(
          () => ({ phase: "export" }),
          exportModel(
            input.model,
            {
              checkpoint: join(checkpoints, "best.pt"),
              out: join(dir, "export"),
              name: input.name,
              // SITS-Former's architecture is read from the checkpoint's shapes and record.
              ...(series ? {} : { size: input.variant, imgSize: arrays.size }),
            },
            (l) => log.info(l),
          ),
        ).catch((error: unknown) => {
          throw error instanceof ExportRefused ? nonRetryable("BadData", error.message) : error;
        });

        const registry = registryPrefix(input.name);
        const onnxKey = `${registry}${input.name}.onnx`;
        await putFile(
          s3,
          ref(outputs, onnxKey),
          join(dir, "export", `${input.name}.onnx`),
          "application/octet-stream",
        );
        const metrics = trainedMetrics(done.best.confusion);
        const tested = TestedParser.safeParse(done.test);
        const test = tested.success && tested.data ? trainedMetrics(tested.data.confusion) : undefined;
        const files = trainingReport({
          name: input.name,
          dataset: input.dataset,
          variant: input.variant,
          epochs: input.epochs,
          bestEpoch: done.best.epoch,
          metrics,
          history: done.history.map((h) => ({ epoch: h.epoch, loss: h.loss, mIoU: h.mIoU ?? null })),
          chips: { training: arrays.training, validation: arrays.validation },
          source: done.source,
          resumes: done.resumes,
          ...(done.peakRssMb !== undefined ? { trainerPeakRssMb: done.peakRssMb } : {}),
        });
        const types: Record<string, string> = {
          html: "text/html",
          json: "application/json",
          png: "image/png",
        };
        for (const [file, body] of Object.entries(files))
          await putBytes(
            s3,
            ref(outputs, `${registry}${file}`),
            body,
            types[file.split(".").pop() as string] ?? "",
          );
        const made = JSON.parse(await readFile(join(dir, "export", `${input.name}.json`), "utf8"));
        const training: TrainingRecord = {
          dataset: input.dataset,
          datasetSha256: arrays.datasetSha256,
          inputDigest: digest,
          base: input.model,
          variant: input.variant,
          epochs: input.epochs,
          bestEpoch: done.best.epoch,
          metrics,
          ...(test ? { test } : {}),
          ...(input.pretrainEpochs !== undefined ? { pretrainEpochs: input.pretrainEpochs } : {}),
          report: formatS3Url(outputs, `${registry}report.html`),
        };
        const pretrained = input.pretrainEpochs
          ? `, after ${input.pretrainEpochs} epochs of masked-prediction pretraining on its unlabelled series`
          : "";
        const manifest = registeredParser(made).parse({
          ...made,
          description: `${input.model} (${input.variant}) fine-tuned by crop-map train on dataset '${input.dataset}'${pretrained}, best of ${input.epochs} epochs at epoch ${done.best.epoch}; parity with PyTorch max |dlogit| ${exported.parity.maxAbsLogitDiff.toExponential(2)}.`,
          onnx: formatS3Url(outputs, onnxKey),
          training,
        });
        await putJson(s3, manifestRef, manifest);
        return resultOf({ ...manifest, training }, manifestUrl);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
