import type { LabelGrid } from "../lib/accuracy/label.grid.ts";
import type { PredictedTile } from "../lib/contracts/predict.contract.ts";
import type { StageTileInput } from "../lib/contracts/stage.contract.ts";
import type { TileManifest, TileWorkflowSpec } from "../lib/contracts/tile.contract.ts";

/** What a tile's staging is made from, for either model family: its granules on the year's label grid. */
export function stagingOf(input: TileWorkflowSpec, labelGrid: LabelGrid, granules: string[]): StageTileInput {
  return {
    tileId: input.tileId,
    year: input.year,
    granules,
    labelGrid: { epsg: labelGrid.epsg, origin: labelGrid.origin, pixelSize: labelGrid.pixelSize },
    chip: input.chip,
  };
}

type CommonFields = "tileId" | "year" | "model" | "labelGrid" | "granules" | "candidates" | "skipped";

/** The fields of a finished tile's manifest that both model families record alike. */
export function recordOf(
  input: TileWorkflowSpec,
  labelGrid: LabelGrid,
  selection: Pick<TileManifest, "granules" | "candidates" | "skipped"> & { seconds: number },
  staged: { seconds: number },
  predicted: Pick<PredictedTile, "model" | "classes" | "confidence" | "seconds"> & {
    files?: PredictedTile["files"];
  },
): Pick<TileManifest, CommonFields | "files" | "timings"> & {
  outputs: Omit<TileManifest["outputs"], "manifest">;
} {
  return {
    tileId: input.tileId,
    year: input.year,
    model: predicted.model,
    labelGrid: labelGrid.source,
    granules: selection.granules,
    candidates: selection.candidates,
    skipped: selection.skipped,
    outputs: { classes: predicted.classes, confidence: predicted.confidence },
    // A prediction finished before checksums were recorded has none: the catalogue reads the maps.
    ...(predicted.files ? { files: predicted.files } : {}),
    timings: {
      selectSeconds: selection.seconds,
      stageSeconds: staged.seconds,
      predictSeconds: predicted.seconds,
    },
  };
}
