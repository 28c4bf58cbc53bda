import { Command } from "commander";
import { loadConfig } from "../lib/config/config.load.ts";
import { classifyError, exitCodeFor, reportError } from "./cli.errors.ts";

type Registrar = () => Promise<(program: Command) => void>;
const runCommands: Registrar = async () => (await import("./commands/run.command.ts")).registerRunCommands;
/**
 * Each top-level command's module, in the order `--help` lists them, loaded only when its command
 * runs: importing every command (the Temporal worker, the dev stack, the demo world) cost about a
 * second at every start, for one command's work.
 */
const Registrars: Record<string, Registrar> = {
  tiles: async () => (await import("./commands/tiles.command.ts")).registerTilesCommand,
  dev: async () => (await import("../infra/dev/dev.command.ts")).registerDevCommand,
  images: async () => (await import("../infra/images/images.command.ts")).registerImagesCommand,
  synth: async () => (await import("./synth/synth.command.ts")).registerSynthCommand,
  tile: async () => (await import("./commands/tile.command.ts")).registerTileCommand,
  worker: async () => (await import("./commands/worker.command.ts")).registerWorkerCommand,
  run: runCommands,
  status: runCommands,
  resume: runCommands,
  report: runCommands,
  cancel: runCommands,
  schedule: async () => (await import("./commands/schedule.command.ts")).registerScheduleCommand,
  cdl: async () => (await import("./commands/cdl.command.ts")).registerCdlCommand,
  serve: async () => (await import("./commands/serve.command.ts")).registerServeCommand,
  model: async () => (await import("./commands/model.command.ts")).registerModelCommand,
  chips: async () => (await import("./commands/chips.command.ts")).registerChipsCommand,
  train: async () => (await import("./commands/train.command.ts")).registerTrainCommand,
};

const program = new Command("crop-map")
  .description("Crop-type maps for US states from the NASA HLS archive, with the Prithvi model, on Temporal")
  .exitOverride()
  .configureOutput({
    outputError: (text, write) => write(`crop-map: ${text.trim().replace(/^error: /, "")} (see --help)\n`),
  });

// The named command's module alone; every module for help, no command or an unknown one.
const named = Registrars[process.argv[2] ?? ""];
for (const registrar of new Set(named ? [named] : Object.values(Registrars))) (await registrar())(program);

/** The S3 endpoint to name when S3 does not answer; a config that does not load has its own error. */
function s3Endpoint(): string | undefined {
  try {
    return loadConfig().s3.endpoint;
  } catch {
    return undefined;
  }
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const classified = classifyError(error, s3Endpoint());
  reportError(classified);
  process.exitCode = exitCodeFor(classified);
}
