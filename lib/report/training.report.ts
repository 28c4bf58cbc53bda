import { SeedOverall, SeedPerClass } from "../accuracy/seed.metrics.ts";
import { CropClasses } from "../cdl/classes.ts";
import type { TrainedMetrics } from "../contracts/train.contract.ts";
import { escapeHtml } from "./html.parts.ts";
import { lineChartPng } from "./line.chart.ts";

export interface EpochRecord {
  epoch: number;
  loss: number;
  mIoU?: number | null;
}

export interface TrainingReportInput {
  name: string;
  dataset: string;
  variant: "full" | "reduced";
  epochs: number;
  bestEpoch: number;
  metrics: TrainedMetrics;
  history: EpochRecord[];
  /** Chips trained on and validated on. */
  chips: { training: number; validation: number };
  /** Where the first weights came from, as the trainer said: random, a whole model, or an encoder (keys loaded and dropped). */
  source: unknown;
  /** Where the trainer picked up again after a lost worker or trainer: after which epoch, at which step. */
  resumes: { epoch: number; iteration: number }[];
  /** The trainer's peak resident memory (MB), when it said. */
  trainerPeakRssMb?: number;
}

const percent = (v: number | null | undefined) =>
  v === null || v === undefined ? "–" : `${(v * 100).toFixed(2)}`;

/**
 * The training report: `report.html` (the validation metrics beside the seed's published ones,
 * class by class, and the curves), `loss.png` and `miou.png`, and `training.json` (the same
 * figures as data). The HTML names the PNGs relatively: the three sit in one folder.
 */
export function trainingReport(input: TrainingReportInput): Record<string, Buffer> {
  const { metrics, history } = input;
  const loss = lineChartPng([{ points: history.map((h) => [h.epoch, h.loss]), rgb: [200, 60, 40] }]);
  const miou = lineChartPng([{ points: history.map((h) => [h.epoch, h.mIoU ?? null]), rgb: [40, 90, 200] }], {
    yRange: [0, 1],
  });
  const losses = history.map((h) => h.loss);
  const rows = CropClasses.map((c) => {
    const ours = metrics.perClass.find((p) => p.id === c.id);
    const seed = SeedPerClass[c.id];
    return `<tr><td>${escapeHtml(c.name)}</td><td>${percent(ours?.iou)}</td><td>${percent(ours?.acc)}</td><td>${ours?.pixels ?? 0}</td><td>${percent(seed?.iou)}</td><td>${percent(seed?.acc)}</td></tr>`;
  }).join("\n");
  const scope =
    input.variant === "reduced"
      ? "<p><b>Reduced variant</b>: the seed's operators at a fraction of its size, a smoke run; its figures are not comparable with the seed's.</p>"
      : "";
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>Training: ${escapeHtml(input.name)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:60rem}table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}</style>
</head><body>
<h1>${escapeHtml(input.name)}</h1>
<p>Fine-tuned from dataset <code>${escapeHtml(input.dataset)}</code> (${input.chips.training} training chips, ${input.chips.validation} validation chips), ${input.epochs} epochs; the best model by validation mIoU is epoch ${input.bestEpoch}.</p>
${scope}
${input.resumes.map((r) => `<p>Resumed from the checkpoint after epoch ${r.epoch} (step ${r.iteration}).</p>`).join("\n")}
<h2>Validation, in the seed's definitions</h2>
<table><tr><th></th><th>this model</th><th>seed (Prithvi-100M, 80 epochs)</th></tr>
<tr><td>aAcc %</td><td>${percent(metrics.aAcc)}</td><td>${percent(SeedOverall.aAcc)}</td></tr>
<tr><td>mIoU %</td><td>${percent(metrics.mIoU)}</td><td>${percent(SeedOverall.mIoU)}</td></tr>
<tr><td>mAcc %</td><td>${percent(metrics.mAcc)}</td><td>${percent(SeedOverall.mAcc)}</td></tr></table>
<h2>Per class</h2>
<table><tr><th>class</th><th>IoU %</th><th>Acc %</th><th>pixels</th><th>seed IoU %</th><th>seed Acc %</th></tr>
${rows}</table>
<h2>Training loss per epoch</h2>
<p>Epochs 1 to ${history.length}; loss from ${Math.max(...losses).toFixed(3)} (top) to ${Math.min(...losses).toFixed(3)} (bottom).</p>
<img src="loss.png" alt="training loss per epoch" width="640" height="320">
<h2>Validation mIoU</h2>
<p>At each validation; 0 at the bottom, 1 at the top.</p>
<img src="miou.png" alt="validation mIoU per epoch" width="640" height="320">
</body></html>
`;
  const json = { ...input, seed: { overall: SeedOverall, perClass: SeedPerClass } };
  return {
    "report.html": Buffer.from(html),
    "training.json": Buffer.from(`${JSON.stringify(json, null, 2)}\n`),
    "loss.png": loss,
    "miou.png": miou,
  };
}
