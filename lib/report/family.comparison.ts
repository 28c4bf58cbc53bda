import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import type { S3Location } from "../core/s3.url.ts";
import { loadAnyManifest } from "../series/series.manifest.ts";
import { getJson, listAll, ref } from "../storage/s3.objects.ts";

/** What a run's accuracy.json says that a comparison needs (it holds more). */
const RunAccuracyParser = z.object({
  runId: z.string(),
  region: z.string(),
  year: z.number(),
  model: z.string(),
  aAcc: z.number().nullable(),
  mIoU: z.number().nullable(),
  mAcc: z.number().nullable(),
  coverage: z.number().nullable(),
  perClass: z.array(z.object({ id: z.number(), iou: z.number().nullable() })),
});
export type RunAccuracy = z.infer<typeof RunAccuracyParser>;

/** One run in a side-by-side comparison of model families. */
export interface FamilyRun extends RunAccuracy {
  family: "chip" | "series";
}

async function familyOf(model: string): Promise<FamilyRun["family"] | undefined> {
  const manifest = await loadAnyManifest(model).catch(() => undefined);
  return manifest ? (manifest.family ?? "chip") : undefined;
}

/**
 * This run and the runs of the other model family on the same region and year, found by their
 * accuracy.json under `runs/` (the default output folders; runs written elsewhere are not seen).
 * One per model: the latest run id (ids end in the run's start time). Empty when no run of the
 * other family has finished there.
 */
export async function familyComparison(
  s3: S3Client,
  outputs: S3Location,
  current: RunAccuracy,
): Promise<FamilyRun[]> {
  const family = await familyOf(current.model);
  if (!family) return [];
  const folders = await listAll(s3, outputs.bucket, `${outputs.prefix}runs/`, { folders: true });
  const latest = new Map<string, FamilyRun>();
  for (const folder of folders.sort()) {
    const parsed = RunAccuracyParser.safeParse(
      await getJson(s3, ref(outputs, `${folder.slice(outputs.prefix.length)}accuracy.json`)),
    );
    if (!parsed.success) continue;
    const run = parsed.data;
    if (run.runId === current.runId || run.region !== current.region || run.year !== current.year) continue;
    const other = await familyOf(run.model);
    if (other && other !== family) latest.set(run.model, { ...run, family: other });
  }
  return latest.size === 0 ? [] : [{ ...current, family }, ...latest.values()];
}
