import { Command } from "commander";
import { useQuietTemporalRuntime } from "../lib/temporal/connection.ts";
import { exitCodeFor, reportError } from "./cli.errors.ts";
import { registerDevCommand } from "./commands/dev.command.ts";
import { registerSynthCommand } from "./commands/synth.command.ts";
import { registerTilesCommand } from "./commands/tiles.command.ts";

useQuietTemporalRuntime();

const program = new Command("crop-map")
  .description("Crop-type maps for US states from the NASA HLS archive, with the Prithvi model, on Temporal")
  .exitOverride()
  .configureOutput({
    outputError: (text, write) => write(`crop-map: ${text.trim().replace(/^error: /, "")} (see --help)\n`),
  });

registerTilesCommand(program);
registerDevCommand(program);
registerSynthCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  reportError(error);
  process.exitCode = exitCodeFor(error);
}
