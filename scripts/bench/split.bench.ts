/**
 * How much a random split of neighbouring chips flatters a model's scores, against a split by
 * spatial blocks: the same chips of the demo world (Rhode Island, small scale) made into two
 * datasets, `--split random` and `--split blocks`, and the same reduced Prithvi trained on each
 * with the same recipe and seed; the validation aAcc and mIoU of both, and their differences.
 * The real chips, trainer and metrics (workers in this process, a private stack).
 *
 *   npx tsx scripts/bench/split.bench.ts [--chip-cells 32] [--epochs 12] [--block-chips 4] [--json <file>]
 */

import { parseArgs } from "node:util";
import type { ChipsInput, ChipsSummary } from "../../lib/contracts/chips.contract.ts";
import type { TrainedModel, TrainInput } from "../../lib/contracts/train.contract.ts";
import { chipsWorkflow, trainWorkflow } from "../../workflows/index.ts";
import { planWorld } from "../synth/world.plan.ts";
import { writeWorld } from "../synth/world.writer.ts";
import { JsonOption, writeBenchRecord } from "./bench.record.ts";
import { withBenchWorkers, withPrivateStack } from "./bench.stack.ts";

const { values } = parseArgs({
  options: {
    "chip-cells": { type: "string", default: "32" },
    epochs: { type: "string", default: "12" },
    "block-chips": { type: "string", default: "4" },
    ...JsonOption,
  },
});
const chipCells = Number(values["chip-cells"]);
const epochs = Number(values.epochs);
const blockChips = Number(values["block-chips"]);

const results = await withPrivateStack(async (config, s3) => {
  console.error("split.bench: writing the demo world (Rhode Island, small)");
  await writeWorld(
    planWorld({ state: "RI", year: 2022, scale: "small", seed: 4, season: { start: "04-01", end: "10-31" } }),
    { s3, config },
  );
  return withBenchWorkers(config, s3, async (client) => {
    const out: Record<string, { chips: ChipsSummary; model: TrainedModel }> = {};
    for (const kind of ["random", "blocks"] as const) {
      const name = `split-${kind}`;
      console.error(`split.bench: ${kind} split, chips of ${chipCells} cells`);
      const chips = await client.workflow.execute(chipsWorkflow, {
        taskQueue: config.taskQueues.cpu,
        workflowId: `chips-${name}`,
        args: [
          {
            name,
            region: { kind: "state", state: "RI" },
            year: 2022,
            chipCells,
            split: { kind, blockChips },
          } satisfies ChipsInput,
        ],
      });
      console.error(
        `split.bench: ${chips.training} training and ${chips.validation} validation chips; training`,
      );
      const model = await client.workflow.execute(trainWorkflow, {
        taskQueue: config.taskQueues.cpu,
        workflowId: `train-${name}`,
        args: [
          {
            name,
            model: "prithvi-crop-100m",
            variant: "reduced",
            dataset: name,
            epochs,
            evalEvery: 1,
            warmupIters: 20,
            lr: 1e-3,
            batch: 8,
            inferenceQueue: config.taskQueues.inference,
          } satisfies TrainInput,
        ],
      });
      out[kind] = { chips, model };
    }
    return out as Record<"random" | "blocks", { chips: ChipsSummary; model: TrainedModel }>;
  });
});

const pct = (v: number | null) => (v === null ? Number.NaN : v * 100);
const { random, blocks } = results;
for (const [kind, r] of Object.entries(results))
  console.log(
    `${kind.padEnd(6)} ${r.chips.training} train / ${r.chips.validation} val chips: aAcc ${pct(r.model.metrics.aAcc).toFixed(2)} %, mIoU ${pct(r.model.metrics.mIoU).toFixed(2)} % (best epoch ${r.model.bestEpoch} of ${epochs})`,
  );
const inflation = {
  aAcc: pct(random.model.metrics.aAcc) - pct(blocks.model.metrics.aAcc),
  mIoU: pct(random.model.metrics.mIoU) - pct(blocks.model.metrics.mIoU),
};
console.log(
  `random split over blocks: aAcc ${inflation.aAcc >= 0 ? "+" : ""}${inflation.aAcc.toFixed(2)} points, mIoU ${inflation.mIoU >= 0 ? "+" : ""}${inflation.mIoU.toFixed(2)} points`,
);
await writeBenchRecord(values.json, {
  bench: "split.bench.ts",
  setup: `demo world RI small, chips of ${chipCells} cells, blocks of ${blockChips} chips, reduced Prithvi ${epochs} epochs`,
  figures: [
    { name: "validation aAcc, random split", value: pct(random.model.metrics.aAcc), unit: "%" },
    { name: "validation aAcc, blocks split", value: pct(blocks.model.metrics.aAcc), unit: "%" },
    { name: "validation mIoU, random split", value: pct(random.model.metrics.mIoU), unit: "%" },
    { name: "validation mIoU, blocks split", value: pct(blocks.model.metrics.mIoU), unit: "%" },
  ],
});
