import { WorkflowExecutionAlreadyStartedError } from "@temporalio/client";
import type { Command } from "commander";
import { loadConfig } from "../../lib/config/config.load.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import { findTile } from "../../lib/grid/tile.table.ts";
import { loadModelManifest, ModelManifestError } from "../../lib/model/model.manifest.ts";
import { DefaultSelectionLimits } from "../../lib/pipeline/granule.select.ts";
import { DefaultSeasonWindows } from "../../lib/pipeline/season.windows.ts";
import { FirstHlsYear } from "../../lib/synth/world.spec.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import type { TileWorkflowInput } from "../../workflows/tile.workflow.ts";
import { InputError } from "../cli.errors.ts";

export async function tileWorkflowInput(
  tileId: string,
  year: number,
  modelName: string,
  config: Config,
  outputPrefix: string,
): Promise<TileWorkflowInput> {
  if (!findTile(tileId)) throw new InputError(`tile '${tileId}' is not an HLS tile of the US tile table`);
  if (!Number.isInteger(year) || year < FirstHlsYear || year > new Date().getUTCFullYear()) {
    throw new InputError(`year '${year}': HLS v2.0 covers ${FirstHlsYear} to this year`);
  }
  let chip: TileWorkflowInput["chip"];
  try {
    chip = (await loadModelManifest(modelName)).chip;
  } catch (error) {
    if (error instanceof ModelManifestError) throw new InputError(error.message);
    throw error;
  }
  return {
    tileId,
    year,
    model: modelName,
    windows: DefaultSeasonWindows,
    ...DefaultSelectionLimits,
    chip,
    outputPrefix,
    inferenceQueue: config.taskQueues.inference,
  };
}

export function registerTileCommand(program: Command): void {
  program
    .command("tile")
    .description(
      "map one HLS tile for a season: choose granules, mask, warp to the CDL grid, infer, write COGs",
    )
    .requiredOption("--tile <id>", "MGRS tile id, e.g. 19TCG")
    .requiredOption("--year <year>", "season year")
    .option("--model <name>", "model manifest in models/", "crop-tiny")
    .option("--wait", "wait for the tile and print its manifest")
    .action(async (options: { tile: string; year: string; model: string; wait?: boolean }) => {
      const config = loadConfig();
      const year = Number(options.year);
      const outputPrefix = `tiles/${year}/${options.model}/${options.tile}/`;
      const input = await tileWorkflowInput(options.tile, year, options.model, config, outputPrefix);
      const client = await connectClient(config);
      const workflowId = `tile-${year}-${options.tile}-${options.model}`;
      try {
        const handle = await client.workflow
          .start("tileWorkflow", { taskQueue: config.taskQueues.cpu, workflowId, args: [input] })
          .catch((error) => {
            if (error instanceof WorkflowExecutionAlreadyStartedError)
              return client.workflow.getHandle(workflowId);
            throw error;
          });
        console.error(
          `workflow ${workflowId}: ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${workflowId}`,
        );
        if (options.wait) console.log(JSON.stringify(await handle.result(), null, 2));
      } finally {
        await client.connection.close();
      }
    });
}
