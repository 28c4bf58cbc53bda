/**
 * Does SITS-Former's masked-prediction pretraining help a few-shot fine-tuning? One tile of the
 * Iowa demo world (small scale) made into a series dataset with `--per-class` labelled TRAIN series
 * per class and `--unlabelled` unlabelled ones (from TRAIN blocks only), then a reduced SITS-Former
 * trained twice through the training workflow with the same labels, recipe and seed: fine-tuned from
 * random weights, and pretrained `--pretrain-epochs` on the unlabelled series first. Both models'
 * TEST aAcc and mIoU (their best validation epoch, held-out blocks), in the seed's definitions.
 * The real chips and training workflows, trainer and metrics (workers in this process, a private stack).
 *
 *   npx tsx scripts/bench/sits.pretrain.compare.ts [--per-class 2] [--unlabelled 3000]
 *     [--pretrain-epochs 20] [--epochs 60] [--seed 0] [--keep-data <dir>] [--json <file>]
 */

import { parseArgs } from "node:util";
import type { ChipsInput } from "../../lib/contracts/chips.contract.ts";
import type { TrainedModel, TrainInput } from "../../lib/contracts/train.contract.ts";
import { writeSeriesFiles } from "../../lib/training/series.files.ts";
import { writeIowaTile } from "../../test/support/series.world.ts";
import { chipsWorkflow, trainWorkflow } from "../../workflows/index.ts";
import { JsonOption, writeBenchRecord } from "./bench.record.ts";
import { withBenchWorkers, withPrivateStack } from "./bench.stack.ts";

const { values } = parseArgs({
  options: {
    "per-class": { type: "string", default: "2" },
    unlabelled: { type: "string", default: "3000" },
    "pretrain-epochs": { type: "string", default: "20" },
    epochs: { type: "string", default: "60" },
    seed: { type: "string", default: "0" },
    "keep-data": { type: "string" },
    ...JsonOption,
  },
});
const perClass = Number(values["per-class"]);
const unlabelled = Number(values.unlabelled);
const pretrainEpochs = Number(values["pretrain-epochs"]);
const epochs = Number(values.epochs);
const seed = Number(values.seed);
const TileId = "15TVG";

const results = await withPrivateStack(async (config, s3) => {
  console.error(`sits.pretrain.compare: writing the demo world (Iowa tile ${TileId}, small)`);
  await writeIowaTile(s3, config, TileId);
  return withBenchWorkers(config, s3, async (client) => {
    const dataset = "ia-few";
    const made = await client.workflow.execute(chipsWorkflow, {
      taskQueue: config.taskQueues.cpu,
      workflowId: `chips-${dataset}`,
      args: [
        {
          name: dataset,
          region: { kind: "state", state: "IA" },
          year: 2022,
          tiles: [TileId],
          series: { perClass, evalPerClass: 40, unlabelled, maxDates: 64 },
        } satisfies ChipsInput,
      ],
    });
    console.error(`sits.pretrain.compare: ${made.chips} series (${made.training} TRAIN); training`);
    if (values["keep-data"]) await writeSeriesFiles(s3, config.storage.outputs, dataset, values["keep-data"]);
    const train = (name: string, pretrain: number) =>
      client.workflow.execute(trainWorkflow, {
        taskQueue: config.taskQueues.cpu,
        workflowId: `train-${name}`,
        args: [
          {
            name,
            model: "sits-former",
            variant: "reduced",
            dataset,
            epochs,
            batch: 32,
            lr: 1e-3,
            evalEvery: 5,
            pretrainEpochs: pretrain,
            seed,
            inferenceQueue: config.taskQueues.inference,
          } satisfies TrainInput,
        ],
      });
    const random = await train("sits-random", 0);
    const pretrained = await train("sits-pretrained", pretrainEpochs);
    return { made, random, pretrained };
  });
});

const pct = (v: number | null | undefined) => (v === null || v === undefined ? Number.NaN : v * 100);
const line = (what: string, m: TrainedModel) =>
  `${what.padEnd(28)} TEST aAcc ${pct(m.test?.aAcc).toFixed(2)} %, mIoU ${pct(m.test?.mIoU).toFixed(2)} %; validation mIoU ${pct(m.metrics.mIoU).toFixed(2)} % (best epoch ${m.bestEpoch} of ${epochs})`;
console.log(
  `${results.made.training} labelled TRAIN series (at most ${perClass} per class), ${unlabelled} unlabelled`,
);
console.log(line("from random weights", results.random));
console.log(line(`pretrained ${pretrainEpochs} epochs`, results.pretrained));
await writeBenchRecord(values.json, {
  bench: "sits.pretrain.compare.ts",
  setup: `demo world IA tile ${TileId} small, reduced SITS-Former, ${perClass} TRAIN series per class, ${unlabelled} unlabelled, ${epochs} fine-tuning epochs, seed ${seed}`,
  figures: [
    { name: "TEST aAcc, from random weights", value: pct(results.random.test?.aAcc), unit: "%" },
    { name: "TEST aAcc, pretrained", value: pct(results.pretrained.test?.aAcc), unit: "%" },
    { name: "TEST mIoU, from random weights", value: pct(results.random.test?.mIoU), unit: "%" },
    { name: "TEST mIoU, pretrained", value: pct(results.pretrained.test?.mIoU), unit: "%" },
  ],
});
