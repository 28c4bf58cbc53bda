import type { Config } from "../../lib/config/config.schema.ts";
import { DefaultSelectionLimits } from "../../lib/contracts/granule.contract.ts";
import { DefaultSeasonWindows } from "../../lib/contracts/season.windows.ts";

/** A tileWorkflow input mapping a demo tile with a chip model, the default season and limits. */
export function tileWithModel(
  config: Config,
  model: { name: string; chip: { size: number; stride: number } },
  outputPrefix: string,
  tile = { tileId: "19TCG", year: 2022 },
) {
  return {
    ...tile,
    model: model.name,
    windows: DefaultSeasonWindows,
    ...DefaultSelectionLimits,
    chip: model.chip,
    outputPrefix,
    inferenceQueue: config.taskQueues.inference,
  };
}
