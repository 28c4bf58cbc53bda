// Training chips (`crop-map chips`): the workflow's input, its activities' inputs, the per-tile
// manifest a finished tile leaves, the dataset manifest and the workflow's summary.
import { z } from "zod";
import { OutputPrefixParser } from "./output.prefix.ts";
import { RegionSpecParser } from "./region.spec.ts";
import { HeartbeatSecondsParser, RunIdParser, SeasonYearParser } from "./run.contract.ts";
import { FileRecordParser, HistogramParser, SeriesSamplingParser } from "./series.dataset.contract.ts";
import { TileIdParser } from "./tile.id.ts";

/** Chip side in label-grid cells: the model's input (224 x 224 at 30 m). */
export const ChipCells = 224;

/**
 * A chip's side in cells, the model's by default; smaller chips serve tests on the synthetic
 * world, whose 480 px tiles hold about one 224-cell chip each. A multiple of 16: one GeoTIFF tile.
 */
export const ChipCellsParser = z
  .number()
  .int()
  .min(16)
  .max(1024)
  .refine((n) => n % 16 === 0, "must be a multiple of 16");

const MonthDay = z.string().regex(/^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, "expected MM-DD");

/**
 * How the scenes of a tile are chosen, with the values the seed's dataset was made with
 * (ClarkCGA workflow.ipynb): S30 only, March to September, cloud cover at most 5 %, the highest
 * spatial coverage of the ladder at which `minScenes` scenes remain.
 */
export const SceneRuleParser = z
  .object({
    season: z.object({ start: MonthDay, end: MonthDay }).strict().default({ start: "03-01", end: "09-30" }),
    maxCloudCover: z.number().min(0).max(100).default(5),
    coverageLadder: z
      .array(z.number().min(0).max(100))
      .min(1)
      .max(20)
      .refine((l) => l.every((v, i) => i === 0 || v < (l[i - 1] as number)), "must run from high to low")
      .default([100, 90, 80, 70, 60, 50]),
    minScenes: z.literal(3).default(3),
  })
  .strict();
export type SceneRule = z.output<typeof SceneRuleParser>;

/** Chips are split into training and validation chips by chip, or by square blocks of chips. */
export const SplitParser = z
  .object({
    kind: z.enum(["random", "blocks"]).default("random"),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(1),
    /** Share of the chips (at least) that goes to validation. */
    validationShare: z.number().gt(0).lt(1).default(0.2),
    /** Side of a block in chips (`blocks` only): a block goes whole to one side. */
    blockChips: z.number().int().min(1).max(64).default(4),
  })
  .strict();
export type Split = z.output<typeof SplitParser>;

export const DatasetNameParser = RunIdParser;

export const ChipsInputParser = z
  .object({
    name: DatasetNameParser,
    region: RegionSpecParser,
    year: SeasonYearParser,
    /** Only these tiles of the region (tests, or a chosen list). */
    tiles: z.array(TileIdParser).min(1).max(2000).optional(),
    scenes: SceneRuleParser.prefault({}),
    chipCells: ChipCellsParser.default(ChipCells),
    split: SplitParser.prefault({}),
    /** At most this many chips in the dataset, a seeded choice among those kept. */
    maxChips: z.number().int().min(1).max(10_000_000).optional(),
    maxTilesInFlight: z.number().int().min(1).max(500).default(8),
    cpuHeartbeatSeconds: HeartbeatSecondsParser.default(300),
    /**
     * Series training data instead of chips (`--kind series`): each sampled pixel's patch on every
     * clear date of the season, as SITS-Former's `.npz` files. `scenes`, `chipCells` and
     * `maxChips` are the chips' and are refused with it.
     */
    series: SeriesSamplingParser.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.series) return;
    for (const field of ["maxChips", "chipCells"] as const)
      if (c[field] !== undefined && !(field === "chipCells" && c.chipCells === ChipCells))
        ctx.addIssue({ code: "custom", path: [field], message: "is for chips, not series" });
    if (c.split.kind !== "random")
      ctx.addIssue({
        code: "custom",
        path: ["split", "kind"],
        message: "series split by blocks of series.blockPixels",
      });
  });
export type ChipsInput = z.input<typeof ChipsInputParser>;
export type ChipsSpec = z.output<typeof ChipsInputParser>;

/** The dataset's folder under the outputs location. */
export const datasetPrefix = (name: string) => `datasets/${name}/`;

export const ChipTileInputParser = z
  .object({
    tileId: TileIdParser,
    year: SeasonYearParser,
    /** The dataset's folder; the chips go to `chips/`, the tile's manifest to `tiles/<tile>.json`. */
    outputPrefix: OutputPrefixParser,
    /** Every tile of the dataset: the chip-ownership rule needs the ones sorted before this one. */
    datasetTiles: z.array(TileIdParser).min(1).max(2000),
    scenes: SceneRuleParser,
    chipCells: ChipCellsParser,
    cpuHeartbeatSeconds: HeartbeatSecondsParser,
  })
  .strict();
export type ChipTileInput = z.input<typeof ChipTileInputParser>;

export const SceneParser = z
  .object({ id: z.string(), doy: z.number().int(), cloudCover: z.number(), spatialCoverage: z.number() })
  .strict();
export type Scene = z.infer<typeof SceneParser>;

/** A tile's three scenes, or why it has none. */
export const SceneChoiceParser = z.union([
  z.object({ scenes: z.array(SceneParser).length(3), coverage: z.number(), qualifying: z.number() }).strict(),
  z.object({ skipped: z.string() }).strict(),
]);
export type SceneChoice = z.infer<typeof SceneChoiceParser>;

export const SelectChipScenesInputParser = z
  .object({ tileId: TileIdParser, year: SeasonYearParser, scenes: SceneRuleParser })
  .strict();
export type SelectChipScenesInput = z.input<typeof SelectChipScenesInputParser>;

/** The year's label grid as the `labelGrid` activity returns it: the chip grid's anchor and the label rasters. */
export const ChipLabelGridParser = z
  .object({
    epsg: z.number().int(),
    origin: z.tuple([z.number(), z.number()]),
    pixelSize: z.number().positive(),
    rasters: z.array(
      z
        .object({
          bucket: z.string(),
          key: z.string(),
          bounds: z.tuple([z.number(), z.number(), z.number(), z.number()]).readonly().optional(),
        })
        .strict(),
    ),
    source: z.string(),
  })
  .strict();

/** The tile's work proper: the tile workflow's input less what it decides itself, plus the label grid and scenes. */
export const MakeChipTileInputParser = ChipTileInputParser.omit({ scenes: true, cpuHeartbeatSeconds: true })
  .extend({ labelGrid: ChipLabelGridParser, choice: SceneChoiceParser })
  .strict();
export type MakeChipTileInput = z.input<typeof MakeChipTileInputParser>;

export const FindChipTileInputParser = z
  .object({
    tileId: TileIdParser,
    outputPrefix: OutputPrefixParser,
    /** The dataset's kind: a tile manifest of the other kind does not count as done. */
    kind: z.enum(["chips", "series"]).default("chips"),
  })
  .strict();
export type FindChipTileInput = z.input<typeof FindChipTileInputParser>;

export type FileRecord = z.infer<typeof FileRecordParser>;

export const ChipRecordParser = z
  .object({
    id: z.string().regex(/^chip_\d+_\d+$/),
    col: z.number().int().min(0),
    row: z.number().int().min(0),
    histogram: HistogramParser,
    merged: FileRecordParser,
    mask: FileRecordParser,
  })
  .strict();
export type ChipRecord = z.infer<typeof ChipRecordParser>;

/** `tiles/<tile>.json`: written after the tile's chips, so its presence means the tile is done. */
export const ChipTileManifestParser = z
  .object({
    tileId: z.string(),
    year: z.number().int(),
    status: z.enum(["done", "skipped"]),
    reason: z.string().optional(),
    scenes: z.array(SceneParser),
    coverage: z.number().optional(),
    /** Chip cells this tile owns and its granules cover, and why those not kept were dropped. */
    candidates: z.number().int().min(0),
    dropped: z
      .object({
        qa: z.number().int().min(0),
        marker: z.number().int().min(0),
        unlabelled: z.number().int().min(0),
      })
      .strict(),
    chips: z.array(ChipRecordParser),
  })
  .strict();
export type ChipTileManifest = z.infer<typeof ChipTileManifestParser>;

export const ChipTileOutcomeParser = z
  .object({
    tileId: z.string(),
    status: z.enum(["done", "skipped", "failed"]),
    reason: z.string().optional(),
  })
  .strict();
export type ChipTileOutcome = z.infer<typeof ChipTileOutcomeParser>;

export const WriteDatasetInputParser = z
  .object({
    outputPrefix: OutputPrefixParser,
    input: z.record(z.string(), z.unknown()),
    split: SplitParser,
    maxChips: z.number().int().min(1).optional(),
    tiles: z.array(ChipTileOutcomeParser).min(1).max(2000),
  })
  .strict();
export type WriteDatasetInput = z.input<typeof WriteDatasetInputParser>;

/** `dataset.json`: what the dataset holds and how it was made; every file with its SHA-256. */
export const DatasetManifestParser = z
  .object({
    name: z.string(),
    year: z.number().int(),
    input: z.record(z.string(), z.unknown()),
    split: SplitParser,
    maxChips: z.number().int().optional(),
    chips: z.number().int().min(0),
    training: z.number().int().min(0),
    validation: z.number().int().min(0),
    /** Kept chips left out by maxChips (their files removed). */
    capped: z.number().int().min(0),
    classHistogram: HistogramParser,
    tiles: z.array(
      ChipTileOutcomeParser.extend({
        chips: z.number().int().min(0),
        granules: z.array(z.string()),
      }).strict(),
    ),
    files: z.array(FileRecordParser),
  })
  .strict();
export type DatasetManifest = z.infer<typeof DatasetManifestParser>;

/** What the dataset step returns to the workflow: counts and where the manifest is, never the file list. */
export interface DatasetCounts {
  chips: number;
  training: number;
  validation: number;
  datasetJson: string;
}

export interface ChipsSummary extends DatasetCounts {
  name: string;
  tiles: ChipTileOutcome[];
}

/** One tile's series training data: the chip tile's input with the sampling and the split's draw in place of the scene rule. */
export const SeriesChipTileInputParser = ChipTileInputParser.omit({ scenes: true, chipCells: true })
  .extend({
    sampling: SeriesSamplingParser,
    seed: SplitParser.shape.seed.unwrap(),
    validationShare: SplitParser.shape.validationShare.unwrap(),
  })
  .strict();
export type SeriesChipTileInput = z.input<typeof SeriesChipTileInputParser>;

/** The tile's sampling over its staged series (`stageSeries`' folder in the work location). */
export const MakeSeriesSamplesInputParser = SeriesChipTileInputParser.omit({ cpuHeartbeatSeconds: true })
  .extend({ seriesKey: z.string().min(1), labelGrid: ChipLabelGridParser })
  .strict();
export type MakeSeriesSamplesInput = z.input<typeof MakeSeriesSamplesInputParser>;

export const WriteSeriesDatasetInputParser = WriteDatasetInputParser.omit({ split: true, maxChips: true })
  .extend({
    sampling: SeriesSamplingParser,
    seed: SplitParser.shape.seed.unwrap(),
    validationShare: SplitParser.shape.validationShare.unwrap(),
  })
  .strict();
export type WriteSeriesDatasetInput = z.input<typeof WriteSeriesDatasetInputParser>;
