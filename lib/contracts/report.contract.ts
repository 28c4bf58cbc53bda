// The report: mosaic plan and parts, the rollups each part leaves in S3, the run report and accuracy files.
import { z } from "zod";
import type { Confusion } from "../accuracy/confusion.ts";
import { RegionSpecParser } from "../region/region.spec.ts";
import type { MosaicPart } from "../report/mosaic.parts.ts";
import { OutputPrefixParser } from "./run.contract.ts";

const ReportRunFields = {
  runId: z.string().min(1),
  region: RegionSpecParser,
  year: z.number().int(),
  outputPrefix: OutputPrefixParser,
};
export const PlanReportInputParser = z.object({ ...ReportRunFields, tiles: z.array(z.string()) }).strict();

const MosaicGridParser = z
  .object({
    epsg: z.number().int(),
    origin: z.tuple([z.number(), z.number()]),
    pixelSize: z.number().positive(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
  })
  .strict();
export const MosaicPartParser = z
  .object({
    id: z.string().min(1),
    name: z.string(),
    prefix: OutputPrefixParser,
    grid: MosaicGridParser,
    exclude: z.array(z.string()),
    tiles: z.array(z.string()).min(1),
    outside: z.literal(true).optional(),
  })
  .strict();
export const ReportPlanParser = z
  .object({
    grid: MosaicGridParser,
    sampleStep: z.number().int().positive(),
    parts: z.array(MosaicPartParser),
  })
  .strict();
export const BuildMosaicPartInputParser = z
  .object({ ...ReportRunFields, sampleStep: z.number().int().positive(), part: MosaicPartParser })
  .strict();

/** A file written with its SHA-256 and size (the STAC file extension's fields). */
export interface WrittenFile {
  key: string;
  sha256: string;
  bytes: number;
}

/** What a part's mosaic left in `rollups.json` (written last: its presence means the part is done). */
export interface PartRollups {
  /** Of everything the part was made from: a part with the same digest is not made again. */
  digest: string;
  part: MosaicPart;
  run: Confusion;
  perTile: { tileId: string; confusion: Confusion }[];
  ignored: number;
  labelRasters: string[];
  files: {
    classes: WrittenFile;
    confidence: WrittenFile;
    sample: { key: string; width: number; height: number; step: number };
  };
  seconds: number;
}

/** A part's outcome as the workflow sees it: keys and a few numbers, never the rollups. */
export interface PartDone {
  id: string;
  rollups: string;
  reused: boolean;
  seconds: number;
}

export const BuildReportInputParser = PlanReportInputParser.extend({ model: z.string() }).strict();
export type BuildReportInput = z.input<typeof BuildReportInputParser>;
export const AssembleReportInputParser = BuildReportInputParser.extend({ plan: ReportPlanParser }).strict();

export interface RunReport {
  /** The run's STAC Collection (with an Item per tile map, per state mosaic and for the map). */
  stac: string;
  /** The map: one COG for a state run, else a GDAL VRT over the state COGs. */
  mosaic: string;
  confidence: string;
  /** A coarse COG of the whole region, for a run mosaicked by state. */
  overview?: string;
  accuracyJson: string;
  accuracyCsv: string;
  reportHtml: string;
  reportMarkdown: string;
  aAcc: number | null;
  coverage: number | null;
}

export interface AccuracySummary {
  runId: string;
  region: string;
  year: number;
  model: string;
  labels: string[];
  run: Confusion;
  ignoredCdlPixels: number;
  perClass: { id: number; name: string; iou: number | null; acc: number | null; pixels: number }[];
  perState: { state: string; confusion: Confusion }[];
  perTile: { tileId: string; confusion: Confusion }[];
}
