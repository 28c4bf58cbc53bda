import type { S3Client } from "@aws-sdk/client-s3";
import { metrics } from "../lib/accuracy/confusion.ts";
import type { AccuracySummary } from "../lib/contracts/report.contract.ts";
import { type ObjectRef, putBytes, putJson } from "../lib/storage/s3.objects.ts";

const finite = (v: number) => (Number.isFinite(v) ? v : null);

/**
 * `accuracy.json` (the run, per class, per state and per tile, with their matrices) and
 * `accuracy.csv`; returns what accuracy.json holds.
 */
export async function writeAccuracyFiles(
  s3: S3Client,
  { json, csv, summary }: { json: ObjectRef; csv: ObjectRef; summary: AccuracySummary },
) {
  const { run, perClass } = summary;
  const m = metrics(run);
  const accuracy = {
    runId: summary.runId,
    region: summary.region,
    year: summary.year,
    model: summary.model,
    labels: summary.labels,
    aAcc: finite(m.aAcc),
    mIoU: finite(m.mIoU),
    mAcc: finite(m.mAcc),
    coverage: finite(m.coverage),
    labelledPixels: run.labelled,
    mappedPixels: run.mapped,
    ignoredCdlPixels: summary.ignoredCdlPixels,
    perClass,
    confusion: run.matrix,
    perState: summary.perState.map((s) => {
      const sm = metrics(s.confusion);
      return {
        state: s.state,
        aAcc: finite(sm.aAcc),
        mIoU: finite(sm.mIoU),
        coverage: finite(sm.coverage),
        labelledPixels: s.confusion.labelled,
        mappedPixels: s.confusion.mapped,
        confusion: s.confusion.matrix,
      };
    }),
    perTile: summary.perTile.map((t) => ({
      tileId: t.tileId,
      aAcc: finite(metrics(t.confusion).aAcc),
      ownedPixels: t.confusion.mapped,
      confusion: t.confusion.matrix,
    })),
  };
  await putJson(s3, json, accuracy);
  const lines = [
    "id,name,iou,acc,pixels",
    ...perClass.map((c) => `${c.id},${c.name.replace(/,/g, " ")},${c.iou ?? ""},${c.acc ?? ""},${c.pixels}`),
  ];
  await putBytes(s3, csv, `${lines.join("\n")}\n`, "text/csv");
  return accuracy;
}
