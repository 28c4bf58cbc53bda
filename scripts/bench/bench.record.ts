import { writeFile } from "node:fs/promises";
import { z } from "zod";

/**
 * What every benchmark script writes with `--json <file>`, and `npm run bench` (run.benches.ts)
 * collects: figures measured against a reference taken in the same process or command, since these
 * machines are shared and noisy (a ratio carries across runs; an absolute figure hardly does).
 */
export const BenchFigureParser = z
  .object({
    /** What was measured, e.g. "predictTile, crop-tiny". */
    name: z.string().min(1),
    value: z.number(),
    /** e.g. "windows/s", "MB/s", "s". */
    unit: z.string().min(1),
    /** What the figure is compared with, measured in the same run; absent for a plain figure. */
    reference: z
      .object({ name: z.string().min(1), value: z.number(), unit: z.string().min(1) })
      .strict()
      .optional(),
    /** value / reference.value (for times, reference / value), so that higher is better. */
    ratio: z.number().optional(),
    /** The goal, in words, e.g. ">= 0.8 of bare onnxruntime". */
    target: z.string().optional(),
    /** Peak resident memory of the process that measured this figure, when not the script's own. */
    peakRssMb: z.number().optional(),
  })
  .strict();
export type BenchFigure = z.infer<typeof BenchFigureParser>;

export const BenchRecordParser = z
  .object({
    /** The script, e.g. "inference.bench.ts". */
    bench: z.string().min(1),
    /** Its arguments, without --json. */
    args: z.array(z.string()),
    /** What the figures are of, e.g. "synthetic 2240 px stack, batch 8". */
    setup: z.string(),
    figures: z.array(BenchFigureParser),
    /** Peak resident memory of the script's process (its children report their own). */
    peakRssMb: z.number(),
    /** Why nothing was measured (a missing prerequisite), if so. */
    skipped: z.string().optional(),
  })
  .strict();
export type BenchRecord = z.infer<typeof BenchRecordParser>;

/** The parseArgs option every benchmark script takes. */
export const JsonOption = { json: { type: "string" } } as const;

/** A throughput figure against its reference: the ratio is value / reference. */
export function ratioFigure(
  name: string,
  value: number,
  unit: string,
  reference: { name: string; value: number; unit?: string },
  target?: string,
): BenchFigure {
  return {
    name,
    value,
    unit,
    reference: { name: reference.name, value: reference.value, unit: reference.unit ?? unit },
    ratio: value / reference.value,
    ...(target ? { target } : {}),
  };
}

/** `work`'s result and the seconds it took. */
export async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const result = await work();
  return [result, (performance.now() - t) / 1000];
}

export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Writes the record where `--json` asked (validated: a malformed record fails its script, not the report). */
export async function writeBenchRecord(
  file: string | undefined,
  record: Omit<BenchRecord, "peakRssMb" | "args"> & { peakRssMb?: number },
): Promise<void> {
  if (!file) return;
  const args = process.argv.slice(2).filter((a, i, all) => a !== "--json" && all[i - 1] !== "--json");
  const parsed = BenchRecordParser.parse({ peakRssMb: peakRssMb(), args, ...record });
  await writeFile(file, `${JSON.stringify(parsed, null, 2)}\n`);
}
