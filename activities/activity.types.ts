// Activity types for workflows to proxy; workflows import this file's types only.
import type { createChipActivities } from "./chips.activities.ts";
import type { createDatasetActivities } from "./dataset.activities.ts";
import type { createGranuleActivities } from "./granules.activities.ts";
import type { createLabelActivities } from "./labels.activities.ts";
import type { createMosaicActivities } from "./mosaic.activities.ts";
import type { createPredictActivities } from "./predict.activities.ts";
import type { createReportActivities } from "./report.activities.ts";
import type { createRunActivities } from "./run.activities.ts";
import type { createSeriesPredictActivities } from "./series.predict.activities.ts";
import type { createSeriesStageActivities } from "./series.stage.activities.ts";
import type { createStageActivities } from "./stage.activities.ts";
import type { createStorageProbeActivities } from "./storage.probe.activities.ts";
import type { createTileOutputActivities } from "./tile.output.activities.ts";

export type StorageProbeActivities = ReturnType<typeof createStorageProbeActivities>;
export type LabelActivities = ReturnType<typeof createLabelActivities>;
export type GranuleActivities = ReturnType<typeof createGranuleActivities>;
export type StageActivities = ReturnType<typeof createStageActivities>;
export type PredictActivities = ReturnType<typeof createPredictActivities>;
export type TileOutputActivities = ReturnType<typeof createTileOutputActivities>;
export type RunActivities = ReturnType<typeof createRunActivities>;
export type ReportActivities = ReturnType<typeof createReportActivities>;
export type MosaicActivities = ReturnType<typeof createMosaicActivities>;
export type SeriesStageActivities = ReturnType<typeof createSeriesStageActivities>;
export type SeriesPredictActivities = ReturnType<typeof createSeriesPredictActivities>;
export type ChipActivities = ReturnType<typeof createChipActivities>;
export type DatasetActivities = ReturnType<typeof createDatasetActivities>;
