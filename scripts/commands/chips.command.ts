import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from "@temporalio/client";
import type { Command } from "commander";
import { z } from "zod";
import { loadConfig } from "../../lib/config/config.load.ts";
import {
  type ChipsInput,
  ChipsInputParser,
  type ChipsSummary,
  datasetPrefix,
  SplitParser,
} from "../../lib/contracts/chips.contract.ts";
import { SeasonYearParser } from "../../lib/contracts/run.contract.ts";
import type { SeriesSamplingParser } from "../../lib/contracts/series.dataset.contract.ts";
import { formatS3Url } from "../../lib/core/s3.url.ts";
import { resolveRegion } from "../../lib/region/region.ts";
import { tilesForRegion } from "../../lib/region/tile.cover.ts";
import { chipsWorkflow } from "../../workflows/index.ts";
import { uiLink, withClient } from "../cli.client.ts";
import { InputError, workFailed } from "../cli.errors.ts";
import { checkWorkflowInput, parseNumberOption } from "../cli.inputs.ts";
import { addRegionOptions, type RegionOptions, regionSpecFrom } from "./tiles.command.ts";

type SeriesSamplingInput = z.input<typeof SeriesSamplingParser>;

interface ChipsOptions extends RegionOptions {
  year: string;
  name: string;
  split?: string;
  seed?: string;
  blockChips?: string;
  maxChips?: string;
  chipCells?: string;
  tiles?: string;
  kind?: string;
  patch?: string;
  perClass?: string;
  evalPerClass?: string;
  unlabelled?: string;
  minDates?: string;
  maxDates?: string;
  blockPixels?: string;
  wait?: boolean;
  json?: boolean;
}

/** The series options, by flag: each is refused without `--kind series`. */
const SeriesFlags = {
  patch: "patch",
  perClass: "per-class",
  evalPerClass: "eval-per-class",
  unlabelled: "unlabelled",
  minDates: "min-dates",
  maxDates: "max-dates",
  blockPixels: "block-pixels",
} as const;

/** `--kind series`'s sampling from its flags, each checked with the workflow schema's own bounds. */
function seriesSampling(options: ChipsOptions): SeriesSamplingInput | undefined {
  const kind = options.kind ?? "chips";
  if (kind !== "chips" && kind !== "series")
    throw new InputError(`--kind '${kind}': expected chips or series`);
  const given = Object.entries(SeriesFlags).filter(
    ([key]) => options[key as keyof typeof SeriesFlags] !== undefined,
  );
  if (kind === "chips") {
    if (given.length) throw new InputError(`--${given[0]?.[1]}: a --kind series option`);
    return undefined;
  }
  const chipOnly = [
    ["maxChips", "max-chips"],
    ["chipCells", "chip-cells"],
    ["blockChips", "block-chips"],
  ] as const;
  for (const [key, flag] of chipOnly)
    if (options[key] !== undefined) throw new InputError(`--${flag}: a chips option, not --kind series's`);
  if (options.split === "blocks")
    throw new InputError("--split blocks: series split by --block-pixels blocks");
  return Object.fromEntries(
    given.map(([key, flag]) => [
      key,
      // Bounds are told by the workflow schema, in its words.
      parseNumberOption(options[key as keyof typeof SeriesFlags] as string, flag, z.number()),
    ]),
  );
}

/** The workflow's input from the command line, checked with the workflow's own schema (exit 2 on a refusal). */
function chipsInput(options: ChipsOptions): ChipsInput {
  const region = regionSpecFrom(options);
  const resolved = resolveRegion(region);
  if (tilesForRegion(resolved).length === 0)
    throw new InputError(`${resolved.name} touches no HLS tile in the shipped tile table (US only)`);
  if (options.split !== undefined && options.split !== "random" && options.split !== "blocks")
    throw new InputError(`--split '${options.split}': expected random or blocks`);
  const number = (
    text: string | undefined,
    option: string,
    schema: Parameters<typeof parseNumberOption>[2],
  ) => (text === undefined ? undefined : parseNumberOption(text, option, schema));
  const seed = number(options.seed, "seed", SplitParser.shape.seed.unwrap());
  const blockChips = number(options.blockChips, "block-chips", SplitParser.shape.blockChips.unwrap());
  const maxChips = number(options.maxChips, "max-chips", ChipsInputParser.shape.maxChips.unwrap());
  // Bounds and the multiple of 16 are told by the workflow schema, in its words.
  const chipCells = number(options.chipCells, "chip-cells", z.number().int());
  const series = seriesSampling(options);
  return checkWorkflowInput(
    ChipsInputParser,
    {
      name: options.name,
      region,
      year: parseNumberOption(options.year, "year", SeasonYearParser),
      ...(options.tiles ? { tiles: options.tiles.split(",").map((t) => t.trim()) } : {}),
      ...(series ? { series } : {}),
      split: {
        ...(options.split && !series ? { kind: options.split as "random" | "blocks" } : {}),
        ...(seed !== undefined ? { seed } : {}),
        ...(blockChips !== undefined ? { blockChips } : {}),
      },
      ...(maxChips !== undefined ? { maxChips } : {}),
      ...(chipCells !== undefined ? { chipCells } : {}),
    },
    "chips",
  );
}

export function registerChipsCommand(program: Command): void {
  addRegionOptions(
    program
      .command("chips")
      .description(
        "make training chips from the archive as the seed's dataset was made: 18-band chips, CDL masks, splits",
      ),
  )
    .requiredOption("--year <year>", "season year")
    .requiredOption(
      "--name <dataset>",
      "dataset name: the folder datasets/<name>/ under the outputs location",
    )
    .option("--split <kind>", "random (by chip) or blocks (whole blocks of chips)", "random")
    .option("--seed <n>", "seed of the split and of --max-chips (default 1)")
    .option("--block-chips <n>", "side of a --split blocks block, in chips (default 4)")
    .option("--max-chips <n>", "at most this many chips, a seeded choice")
    .option("--chip-cells <n>", "chip side in CDL pixels (default 224, the model's)")
    .option("--tiles <ids>", "only these HLS tiles of the region, by comma")
    .option(
      "--kind <kind>",
      "chips (the seed's 18-band chips) or series (SITS-Former's per-pixel patch series, .npz)",
      "chips",
    )
    .option("--patch <k>", "series: side of each date's patch, odd (default 5)")
    .option("--per-class <n>", "series: at most n TRAIN series per class (default 100)")
    .option(
      "--eval-per-class <n>",
      "series: at most n series per class in VALIDATE and TEST each (default --per-class)",
    )
    .option("--unlabelled <n>", "series: unlabelled series for pretraining, from TRAIN blocks (default 0)")
    .option("--min-dates <n>", "series: whole-patch-clear dates a series needs (default 3)")
    .option("--max-dates <n>", "series: observations staged per tile, the least cloudy (default 75)")
    .option("--block-pixels <n>", "series: side of the split's blocks in label pixels (default 32)")
    .option("--wait", "wait for the dataset and print its summary")
    .option("--json", "print JSON")
    .action(async (options: ChipsOptions) => {
      const config = loadConfig();
      const input = chipsInput(options);
      const workflowId = `chips-${options.name}`;
      const output = formatS3Url(config.storage.outputs, datasetPrefix(options.name));
      await withClient(config, async (client) => {
        const handle = await client.workflow
          .start(chipsWorkflow, { taskQueue: config.taskQueues.cpu, workflowId, args: [input] })
          .catch((error: unknown) => {
            if (error instanceof WorkflowExecutionAlreadyStartedError)
              throw new InputError(
                `dataset '${options.name}' is being made already (workflow ${workflowId})`,
              );
            throw error;
          });
        const ui = uiLink(config, workflowId);
        if (!options.wait) {
          if (options.json) console.log(JSON.stringify({ workflowId, output, ui }));
          else console.log(`chips ${workflowId}\n  output ${output}\n  ui     ${ui}`);
          return;
        }
        const summary = (await handle.result().catch((error: unknown) => {
          throw error instanceof WorkflowFailedError ? workFailed(`chips ${workflowId}`, error, ui) : error;
        })) as ChipsSummary;
        const failed = summary.tiles.filter((t) => t.status === "failed");
        if (options.json) console.log(JSON.stringify({ workflowId, output, ...summary }));
        else {
          const skipped = summary.tiles.filter((t) => t.status === "skipped").length;
          const what = input.series ? "series" : "chips";
          console.log(
            `dataset ${summary.name}: ${summary.chips} ${what} (${summary.training} training, ${summary.validation} validation) from ${summary.tiles.length} tiles, ${skipped} skipped, ${failed.length} failed`,
          );
          for (const t of summary.tiles.filter((t) => t.status !== "done"))
            console.log(`  ${t.status} ${t.tileId}: ${t.reason ?? ""}`);
          console.log(`  manifest ${summary.datasetJson}`);
        }
        if (failed.length) process.exitCode = 1;
      });
    });
}
