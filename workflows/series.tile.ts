import type {
  GranuleActivities,
  SeriesPredictActivities,
  SeriesStageActivities,
  TileOutputActivities,
} from "../activities/activity.types.ts";
import type { LabelGrid } from "../lib/accuracy/label.grid.ts";
import type { SeriesTileManifest, TileWorkflowSpec } from "../lib/contracts/tile.contract.ts";
import { recordOf, stagingOf } from "./tile.record.ts";

type CpuActivities = GranuleActivities & SeriesStageActivities & TileOutputActivities;

/**
 * The time-series family's steps of a tile: every clear observation of the season, staged date by
 * date, then per-pixel inference on the inference pool, and the manifest last (as the chip path).
 */
export async function seriesTile(
  input: TileWorkflowSpec & { series: { maxDates: number } },
  labelGrid: LabelGrid,
  cpu: CpuActivities,
  predict: Pick<SeriesPredictActivities, "predictSeriesTile">,
): Promise<SeriesTileManifest> {
  const selection = await cpu.selectSeason({
    tileId: input.tileId,
    year: input.year,
    windows: input.windows,
    maxDates: input.series.maxDates,
  });
  const staged = await cpu.stageSeries(
    stagingOf(
      input,
      labelGrid,
      selection.granules.map((g) => g.id),
    ),
  );
  const predicted = await predict.predictSeriesTile({
    tileId: input.tileId,
    seriesKey: staged.seriesKey,
    model: input.model,
    outputPrefix: input.outputPrefix,
  });
  const kept = new Set(staged.index.dates.map((d) => d.granule));
  return cpu.writeTileManifest<SeriesTileManifest>({
    outputPrefix: input.outputPrefix,
    manifest: {
      ...recordOf(
        input,
        labelGrid,
        { ...selection, granules: selection.granules.filter((g) => kept.has(g.id)) },
        staged,
        predicted,
      ),
      grid: staged.index.grid,
      pixels: { ...predicted.pixels, clearOnce: staged.index.pixels.clearOnce },
      series: {
        ...predicted.series,
        usable: selection.usable,
        overMaxDates: selection.overMaxDates,
        dropped: staged.index.dropped,
      },
    },
  });
}
