import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from "@temporalio/client";
import type { Command } from "commander";
import { loadConfig } from "../../lib/config/config.load.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import { DefaultSelectionLimits } from "../../lib/contracts/granule.contract.ts";
import { OutputPrefixParser } from "../../lib/contracts/output.prefix.ts";
import { SeasonYearParser } from "../../lib/contracts/run.contract.ts";
import { DefaultSeasonWindows } from "../../lib/contracts/season.windows.ts";
import {
  type AnyTileManifest,
  type TileWorkflowInput,
  TileWorkflowInputParser,
} from "../../lib/contracts/tile.contract.ts";
import { tilingTag } from "../../lib/contracts/tiling.contract.ts";
import { formatS3Url } from "../../lib/core/s3.url.ts";
import { findTile } from "../../lib/grid/tile.table.ts";
import { FirstHlsYear } from "../../lib/hls/hls.years.ts";
import { tileWorkflow } from "../../workflows/index.ts";
import { uiLink, withClient } from "../cli.client.ts";
import { InputError, optionValue, workFailed } from "../cli.errors.ts";
import { checkWorkflowInput, parseNumberOption } from "../cli.inputs.ts";
import { modelShape } from "./model.shape.ts";
import { addTilingOptions, type TilingOptions, tilingOf } from "./tiling.options.ts";

interface TileOptions extends TilingOptions {
  tile: string;
  year: string;
  model: string;
  outputPrefix?: string;
  wait?: boolean;
  json?: boolean;
}

/**
 * The tile workflow's input and id, checked before anything starts. A tiling other than the
 * model's own gets an id and default folder of its own (`-blended-224-192-8`), so it neither
 * attaches to nor overwrites the tile mapped the model's way; so does a folder given by
 * `--output-prefix`.
 */
async function tileWorkflowInput(
  options: TileOptions,
  config: Config,
): Promise<{ input: TileWorkflowInput; workflowId: string }> {
  const { tile: tileId, model } = options;
  const year = parseNumberOption(options.year, "year", SeasonYearParser);
  if (!findTile(tileId)) throw new InputError(`tile '${tileId}' is not an HLS tile of the US tile table`);
  if (year < FirstHlsYear || year > new Date().getUTCFullYear()) {
    throw new InputError(`--year ${year}: HLS v2.0 covers ${FirstHlsYear} to this year`);
  }
  const shape = await modelShape(model, config);
  const tiling = tilingOf(options, shape, model);
  const own =
    tiling && shape.tiling && tilingTag(tiling) !== tilingTag(shape.tiling) ? `-${tilingTag(tiling)}` : "";
  const prefix = options.outputPrefix;
  if (prefix !== undefined) optionValue("--output-prefix", prefix, OutputPrefixParser);
  const input = checkWorkflowInput(
    TileWorkflowInputParser,
    {
      tileId,
      year,
      model,
      windows: DefaultSeasonWindows,
      ...DefaultSelectionLimits,
      ...shape,
      ...(tiling ? { tiling } : {}),
      outputPrefix: prefix ?? `tiles/${year}/${model}${own}/${tileId}/`,
      inferenceQueue: config.taskQueues.inference,
    },
    "tile",
  );
  const workflowId = `tile-${year}-${tileId}-${model}${own}${prefix === undefined ? "" : `@${prefix}`}`;
  return { input, workflowId };
}

/** What `tile --json --wait` prints: the tile's figures, then where its manifest is. */
function tileFigures(manifest: AnyTileManifest, config: Config, input: TileWorkflowInput) {
  const chip = "windows" in manifest ? manifest : undefined;
  return {
    tileId: manifest.tileId,
    year: manifest.year,
    model: manifest.model.name,
    ...(chip ? { tiling: chip.tiling ?? input.tiling, windows: chip.windows.total } : {}),
    ...(chip ? { windowsRun: chip.windows.run, windowsSkipped: chip.windows.skipped } : {}),
    pixels: manifest.pixels.total,
    mapped: manifest.pixels.mapped,
    predictSeconds: manifest.timings.predictSeconds,
    output: formatS3Url(config.storage.outputs, input.outputPrefix),
    manifest: manifest.outputs.manifest,
  };
}

export function registerTileCommand(program: Command): void {
  addTilingOptions(
    program
      .command("tile")
      .description(
        "map one HLS tile for a season: choose granules, mask, warp to the CDL grid, infer, write COGs",
      )
      .requiredOption("--tile <id>", "MGRS tile id, e.g. 19TCG")
      .requiredOption("--year <year>", "season year")
      .option("--model <name>", "model manifest in models/", "crop-tiny"),
  )
    .option(
      "--output-prefix <prefix>",
      "folder under the outputs location (default tiles/<year>/<model>/<tile>/)",
    )
    .option("--wait", "wait for the tile and print its manifest")
    .option("--json", 'print JSON (with --wait: the tile\'s figures, with "windows": N)')
    .action(async (options: TileOptions) => {
      const config = loadConfig();
      const { input, workflowId } = await tileWorkflowInput(options, config);
      await withClient(config, async (client) => {
        const handle = await client.workflow
          .start(tileWorkflow, { taskQueue: config.taskQueues.cpu, workflowId, args: [input] })
          .catch((error) => {
            if (error instanceof WorkflowExecutionAlreadyStartedError)
              return client.workflow.getHandle(workflowId);
            throw error;
          });
        const ui = uiLink(config, workflowId);
        const output = formatS3Url(config.storage.outputs, input.outputPrefix);
        if (options.json) console.log(JSON.stringify({ workflowId, output, ui }));
        else console.error(`workflow ${workflowId}: ${ui}`);
        if (!options.wait) return;
        const manifest = (await handle.result().catch((error: unknown) => {
          throw error instanceof WorkflowFailedError
            ? workFailed(`tile ${options.tile} ${input.year}`, error, ui)
            : error;
        })) as AnyTileManifest;
        console.log(JSON.stringify(options.json ? tileFigures(manifest, config, input) : manifest, null, 2));
      });
    });
}
