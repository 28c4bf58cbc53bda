// Series training data (`crop-map chips --kind series`): how pixels are sampled, the per-tile
// manifest a finished tile leaves and the dataset manifest, in SITS-Former's own `.npz` layout.
import { z } from "zod";

/** The dataset's folders, as the original code reads them: fine-tuning's three, pretraining's one. */
export const SeriesSplits = ["TRAIN", "VALIDATE", "TEST", "UNLABELLED"] as const;
export type SeriesSplit = (typeof SeriesSplits)[number];

/**
 * How pixels become series. Each labelled pixel's split comes from its block of `blockPixels`
 * label pixels (a seeded draw per block, so neighbours of one field stay on one side); within a
 * split, each class keeps at most its cap, the pixels with the smallest seeded keys. The
 * unlabelled series (pretraining's) are drawn from TRAIN blocks only, label or none, so no
 * evaluated pixel is seen in pretraining.
 */
export const SeriesSamplingParser = z
  .object({
    /** Side of each date's patch, odd so the labelled pixel is its centre (the original's 5). */
    patch: z
      .number()
      .int()
      .min(1)
      .max(15)
      .refine((k) => k % 2 === 1, "must be odd")
      .default(5),
    /** At most this many TRAIN series per class. */
    perClass: z.number().int().min(1).max(1_000_000).default(100),
    /** At most this many series per class in VALIDATE and in TEST each (by default perClass). */
    evalPerClass: z.number().int().min(1).max(1_000_000).optional(),
    /** Unlabelled series for pretraining, at most (0: none). */
    unlabelled: z.number().int().min(0).max(10_000_000).default(0),
    /** Dates a series needs: whole-patch-clear observations of the season, at least. */
    minDates: z.number().int().min(1).max(512).default(3),
    /** Observations staged per tile, at most (the least cloudy); the original pads to 75. */
    maxDates: z.number().int().min(1).max(512).default(75),
    /** Side in label pixels of the blocks the split draws. */
    blockPixels: z.number().int().min(1).max(4096).default(32),
    /** Share of blocks that go to TEST (VALIDATE's share is the split's validationShare). */
    testShare: z.number().min(0).lt(1).default(0.2),
  })
  .strict();
export type SeriesSampling = z.output<typeof SeriesSamplingParser>;

/** A sample's id: its pixel on the label grid (columns and rows from the CDL raster's origin). */
export const SampleIdParser = z.string().regex(/^px_\d+_\d+$/);

/** A file of the dataset with its digest (as the chip datasets record theirs). */
export const FileRecordParser = z
  .object({ key: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().min(0) })
  .strict();

export const SeriesSampleParser = z
  .object({
    id: SampleIdParser,
    split: z.enum(SeriesSplits),
    /** The CDL mask value, 0 (no data, unlabelled series only) to 13; `class_label` holds it less 1. */
    label: z.number().int().min(0).max(13),
    /** The seeded draw that ranks the sample within its split and class: the cap keeps the least. */
    key: z.number().min(0).lt(1),
    dates: z.number().int().min(1),
    file: FileRecordParser,
  })
  .strict();
export type SeriesSample = z.infer<typeof SeriesSampleParser>;

/** `tiles/<tile>.json` of a series dataset: written after its series, so its presence means the tile is done. */
export const SeriesTileManifestParser = z
  .object({
    kind: z.literal("series"),
    tileId: z.string(),
    year: z.number().int(),
    status: z.enum(["done", "skipped"]),
    reason: z.string().optional(),
    granules: z.array(z.string()),
    /** Labelled pixels this tile owns with `minDates` clear centre observations, per split. */
    candidates: z.record(z.string(), z.number().int().min(0)),
    /** Drawn but left out: fewer than `minDates` dates whose whole patch is clear. */
    fewDates: z.number().int().min(0),
    samples: z.array(SeriesSampleParser),
  })
  .strict();
export type SeriesTileManifest = z.infer<typeof SeriesTileManifestParser>;

/** Labelled pixels (or chips, or series) per mask value, index 0 (no data) to 13. */
export const HistogramParser = z.array(z.number().int().min(0)).length(14);

/** `dataset.json` of a series dataset: how it was made, what each folder holds, every file with its SHA-256. */
export const SeriesDatasetManifestParser = z
  .object({
    kind: z.literal("series"),
    name: z.string(),
    year: z.number().int(),
    input: z.record(z.string(), z.unknown()),
    sampling: SeriesSamplingParser,
    seed: z.number().int(),
    validationShare: z.number(),
    /**
     * The layout, the original SITS-Former loaders': one `.npz` per series in `TRAIN/`, `VALIDATE/`,
     * `TEST/` (`ts` int16 [T, bands, patch, patch] reflectance as stored, x 10,000; `doy` int16 [T];
     * `class_label` int16 [1], the CDL class less 1) and `UNLABELLED/` (`ts` and `doy` only).
     */
    bands: z.array(z.string()),
    normalization: z.object({ divideBy: z.number() }).strict(),
    /** The most dates of any series (the original's max_length must be at least this). */
    longest: z.number().int().min(0),
    counts: z.record(z.enum(SeriesSplits), z.number().int().min(0)),
    /** Series per CDL mask value 0..13, per split. */
    classHistogram: z.record(z.enum(SeriesSplits), HistogramParser),
    /** Drawn series left out by the caps across tiles (their files removed). */
    capped: z.number().int().min(0),
    tiles: z.array(
      z
        .object({
          tileId: z.string(),
          status: z.enum(["done", "skipped", "failed"]),
          reason: z.string().optional(),
          series: z.number().int().min(0),
          granules: z.array(z.string()),
        })
        .strict(),
    ),
    files: z.array(FileRecordParser),
  })
  .strict();
export type SeriesDatasetManifest = z.infer<typeof SeriesDatasetManifestParser>;
