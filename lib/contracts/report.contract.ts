// The report: mosaic plan and parts, the rollups each part leaves in S3, the run report and accuracy files.
import { z } from "zod";
import { type MosaicGrid, PixelGridParser } from "./grid.contract.ts";
import { OutputPrefixParser } from "./output.prefix.ts";
import { RegionSpecParser } from "./region.spec.ts";
import { SeasonYearParser } from "./run.contract.ts";

/** A confusion matrix of the 13 classes and its counts. */
export interface Confusion {
  classes: number;
  /** matrix[label - 1][prediction - 1], classes x classes. */
  matrix: number[][];
  labelled: number;
  /** Labelled pixels with a prediction. */
  mapped: number;
}

/**
 * One mosaic activity's share of a run's map: the whole region (a state run), one state of a
 * larger region, or what a bbox or polygon region holds outside every state in one cell of its
 * grid. Small enough to travel through Temporal: outlines are rebuilt from the region spec and
 * the states' postal codes where the part is mosaicked.
 */
export interface MosaicPart {
  /** `region` for a run mosaicked in one part, the state's postal code, or `outside-<row>-<col>`. */
  id: string;
  name: string;
  /** Where its map.tif, confidence.tif and rollups go, under the outputs location, ending in "/". */
  prefix: string;
  /** On the run's grid, starting a whole number of overview blocks from its origin. */
  grid: MosaicGrid;
  /** Postal codes of the states before this one in the run's order whose boxes meet it. */
  exclude: string[];
  /** The finished tiles whose maps reach the part. */
  tiles: string[];
  /** Set on a part outside every state: it comes after them all, so `exclude` is every state meeting it. */
  outside?: true;
}

export interface ReportPlan {
  /** The tiles' union cut down to the region's box. */
  grid: MosaicGrid;
  /** Every n-th pixel of each part goes into its sample (quicklook or the regional overview). */
  sampleStep: number;
  parts: MosaicPart[];
}

/** What names a run to its report steps. */
const ReportRunFields = {
  runId: z.string().min(1),
  region: RegionSpecParser,
  year: SeasonYearParser,
  outputPrefix: OutputPrefixParser,
};
/** The report's plan step: the run and its finished tiles (CONUS has under 1000). */
export const PlanReportInputParser = z
  .object({ ...ReportRunFields, tiles: z.array(z.string()).max(2000) })
  .strict();

export const MosaicPartParser = z
  .object({
    id: z.string().min(1),
    name: z.string(),
    prefix: OutputPrefixParser,
    grid: PixelGridParser,
    exclude: z.array(z.string()),
    tiles: z.array(z.string()).min(1),
    outside: z.literal(true).optional(),
  })
  .strict();
export const ReportPlanParser = z
  .object({
    grid: PixelGridParser,
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

const WrittenFileParser = z.object({ key: z.string(), sha256: z.string(), bytes: z.number().int() }).strict();
const ConfusionParser = z
  .object({
    classes: z.number().int().positive(),
    matrix: z.array(z.array(z.number())),
    labelled: z.number(),
    mapped: z.number(),
  })
  .strict();

/** What a part's mosaic left in `rollups.json` (written last: its presence means the part is done); read back checked. */
export const PartRollupsRecordParser = z
  .object({
    digest: z.string(),
    part: MosaicPartParser,
    run: ConfusionParser,
    perTile: z.array(z.object({ tileId: z.string(), confusion: ConfusionParser }).strict()),
    ignored: z.number(),
    labelRasters: z.array(z.string()),
    files: z
      .object({
        classes: WrittenFileParser,
        confidence: WrittenFileParser,
        sample: z
          .object({
            key: z.string(),
            width: z.number().int().positive(),
            height: z.number().int().positive(),
            step: z.number().int().positive(),
          })
          .strict(),
      })
      .strict(),
    seconds: z.number(),
  })
  .strict();
export type PartRollups = z.infer<typeof PartRollupsRecordParser>;

/** A part's outcome as the workflow sees it: keys and a few numbers, never the rollups. */
export interface PartDone {
  id: string;
  rollups: string;
  reused: boolean;
  seconds: number;
}

/** The report workflow's input: the plan step's and the model the tiles were mapped with. */
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
