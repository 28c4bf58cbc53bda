import type { Command } from "commander";
import { z } from "zod";
import { loadConfig } from "../../lib/config/config.load.ts";
import { PortInUseError, startViewer } from "../../lib/viewer/viewer.server.ts";
import { InputError } from "../cli.errors.ts";
import { parseNumberOption } from "../cli.inputs.ts";

const PortParser = z.number().int().min(1).max(65535);

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("a local web page: the runs, and each run's map with CDL labels, disagreement and tiles")
    .option("--port <n>", "port to listen on", "8765")
    .option(
      "--host <host>",
      "address to listen on (loopback by default: the page needs no login)",
      "127.0.0.1",
    )
    .action(async (options: { port: string; host: string }) => {
      const port = parseNumberOption(options.port, "port", PortParser);
      const config = loadConfig();
      const viewer = await startViewer(config, { host: options.host, port }).catch((error: unknown) => {
        throw error instanceof PortInUseError ? new InputError(error.message) : error;
      });
      console.log(`crop-map viewer at ${viewer.url} (Ctrl-C stops it)`);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await viewer.close();
      console.log(`crop-map viewer stopped (${signal})`);
    });
}
