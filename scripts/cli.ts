import { Command } from "commander";
import { registerDevCommand } from "../infra/dev/dev.command.ts";
import { registerImagesCommand } from "../infra/images/images.command.ts";
import { loadConfig } from "../lib/config/config.load.ts";
import { useQuietTemporalRuntime } from "../lib/temporal/connection.ts";
import { classifyError, exitCodeFor, reportError } from "./cli.errors.ts";
import { registerCdlCommand } from "./commands/cdl.command.ts";
import { registerChipsCommand } from "./commands/chips.command.ts";
import { registerModelCommand } from "./commands/model.command.ts";
import { registerRunCommands } from "./commands/run.command.ts";
import { registerScheduleCommand } from "./commands/schedule.command.ts";
import { registerServeCommand } from "./commands/serve.command.ts";
import { registerTileCommand } from "./commands/tile.command.ts";
import { registerTilesCommand } from "./commands/tiles.command.ts";
import { registerWorkerCommand } from "./commands/worker.command.ts";
import { registerSynthCommand } from "./synth/synth.command.ts";

// Workers keep the SDK's INFO log (activity log lines such as which execution provider ran).
if (process.argv[2] !== "worker") useQuietTemporalRuntime();

const program = new Command("crop-map")
  .description("Crop-type maps for US states from the NASA HLS archive, with the Prithvi model, on Temporal")
  .exitOverride()
  .configureOutput({
    outputError: (text, write) => write(`crop-map: ${text.trim().replace(/^error: /, "")} (see --help)\n`),
  });

registerTilesCommand(program);
registerDevCommand(program);
registerImagesCommand(program);
registerSynthCommand(program);
registerTileCommand(program);
registerWorkerCommand(program);
registerRunCommands(program);
registerScheduleCommand(program);
registerCdlCommand(program);
registerServeCommand(program);
registerModelCommand(program);
registerChipsCommand(program);

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
