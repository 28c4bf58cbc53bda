import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from "@temporalio/client";
import type { Command } from "commander";
import { loadConfig } from "../../lib/config/config.load.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import { DefaultSelectionLimits } from "../../lib/contracts/granule.contract.ts";
import { SeasonYearParser } from "../../lib/contracts/run.contract.ts";
import { DefaultSeasonWindows } from "../../lib/contracts/season.windows.ts";
import { type TileWorkflowInput, TileWorkflowInputParser } from "../../lib/contracts/tile.contract.ts";
import { findTile } from "../../lib/grid/tile.table.ts";
import { FirstHlsYear } from "../../lib/hls/hls.years.ts";
import { tileWorkflow } from "../../workflows/index.ts";
import { uiLink, withClient } from "../cli.client.ts";
import { InputError, workFailed } from "../cli.errors.ts";
import { checkWorkflowInput, parseNumberOption } from "../cli.inputs.ts";
import { modelShape } from "./model.shape.ts";

export async function tileWorkflowInput(
  tileId: string,
  year: number,
  modelName: string,
  config: Config,
  outputPrefix: string,
): Promise<TileWorkflowInput> {
  if (!findTile(tileId)) throw new InputError(`tile '${tileId}' is not an HLS tile of the US tile table`);
  if (year < FirstHlsYear || year > new Date().getUTCFullYear()) {
    throw new InputError(`--year ${year}: HLS v2.0 covers ${FirstHlsYear} to this year`);
  }
  const shape = await modelShape(modelName, config);
  return checkWorkflowInput(
    TileWorkflowInputParser,
    {
      tileId,
      year,
      model: modelName,
      windows: DefaultSeasonWindows,
      ...DefaultSelectionLimits,
      ...shape,
      outputPrefix,
      inferenceQueue: config.taskQueues.inference,
    },
    "tile",
  );
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
      const year = parseNumberOption(options.year, "year", SeasonYearParser);
      const outputPrefix = `tiles/${year}/${options.model}/${options.tile}/`;
      const input = await tileWorkflowInput(options.tile, year, options.model, config, outputPrefix);
      const workflowId = `tile-${year}-${options.tile}-${options.model}`;
      await withClient(config, async (client) => {
        const handle = await client.workflow
          .start(tileWorkflow, { taskQueue: config.taskQueues.cpu, workflowId, args: [input] })
          .catch((error) => {
            if (error instanceof WorkflowExecutionAlreadyStartedError)
              return client.workflow.getHandle(workflowId);
            throw error;
          });
        console.error(`workflow ${workflowId}: ${uiLink(config, workflowId)}`);
        if (!options.wait) return;
        const manifest = await handle.result().catch((error: unknown) => {
          throw error instanceof WorkflowFailedError
            ? workFailed(`tile ${options.tile} ${year}`, error, uiLink(config, workflowId))
            : error;
        });
        console.log(JSON.stringify(manifest, null, 2));
      });
    });
}
