/**
 * Confusion matrix and the mmsegmentation metrics of the seed model card (DOMAIN.md): over pixels
 * with a label (label != 0); per class IoU = TP / (TP + FP + FN) and Acc = TP / (TP + FN); aAcc =
 * sum TP / labelled pixels; mIoU and mAcc averaged over classes present (NaN skipped). Pixels the
 * pipeline did not map (prediction 0) are coverage, not errors: counted apart.
 */

export function emptyConfusion(classes: number): Confusion {
  return {
    classes,
    matrix: Array.from({ length: classes }, () => new Array<number>(classes).fill(0)),
    labelled: 0,
    mapped: 0,
  };
}

/** Adds another matrix's counts (a part of the same map) into `into`. */
export function addConfusion(into: Confusion, other: Confusion): void {
  into.labelled += other.labelled;
  into.mapped += other.mapped;
  for (const [l, row] of other.matrix.entries()) {
    const target = into.matrix[l] as number[];
    for (const [p, n] of row.entries()) target[p] = (target[p] as number) + n;
  }
}

/** Adds aligned pixels: labels already mapped to class ids (0 = no label), predictions (0 = not mapped). */
export function accumulate(confusion: Confusion, labels: Uint8Array, predictions: Uint8Array): void {
  const { classes, matrix } = confusion;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as number;
    if (l === 0 || l > classes) continue;
    confusion.labelled++;
    const p = predictions[i] as number;
    if (p === 0 || p > classes) continue;
    confusion.mapped++;
    const row = matrix[l - 1] as number[];
    row[p - 1] = (row[p - 1] as number) + 1;
  }
}

export interface Metrics {
  aAcc: number;
  mIoU: number;
  mAcc: number;
  /** Share of labelled pixels that were mapped. */
  coverage: number;
  perClass: { id: number; iou: number; acc: number; pixels: number }[];
}

export function metrics(confusion: Confusion): Metrics {
  const { classes, matrix } = confusion;
  const perClass = Array.from({ length: classes }, (_, k) => {
    const tp = matrix[k]?.[k] ?? 0;
    const labelled = (matrix[k] ?? []).reduce((a, b) => a + b, 0);
    const predicted = matrix.reduce((a, row) => a + (row[k] ?? 0), 0);
    const union = labelled + predicted - tp;
    return {
      id: k + 1,
      iou: union === 0 ? Number.NaN : tp / union,
      acc: labelled === 0 ? Number.NaN : tp / labelled,
      pixels: labelled,
    };
  });
  const mean = (values: number[]) => {
    const present = values.filter((v) => !Number.isNaN(v));
    return present.length === 0 ? Number.NaN : present.reduce((a, b) => a + b, 0) / present.length;
  };
  const tp = matrix.reduce((a, row, k) => a + (row[k] ?? 0), 0);
  return {
    aAcc: confusion.mapped === 0 ? Number.NaN : tp / confusion.mapped,
    mIoU: mean(perClass.map((c) => c.iou)),
    mAcc: mean(perClass.map((c) => c.acc)),
    coverage: confusion.labelled === 0 ? Number.NaN : confusion.mapped / confusion.labelled,
    perClass,
  };
}

import type { Confusion } from "../contracts/report.contract.ts";
