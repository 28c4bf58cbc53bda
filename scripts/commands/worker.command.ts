import type { Command } from "commander";
import { loadConfig } from "../../lib/config/config.load.ts";
import { type Pool, runWorkers } from "../../workers/run.workers.ts";
import { InputError } from "../cli.errors.ts";

export function registerWorkerCommand(program: Command): void {
  program
    .command("worker")
    .description(
      "run workers: the cpu pool (workflows, reading, warping), the inference pool (ONNX), or all in one process",
    )
    .option("--pool <pool>", "cpu, inference or all", "all")
    .action(async (options: { pool: string }) => {
      if (!["cpu", "inference", "all"].includes(options.pool))
        throw new InputError(`--pool '${options.pool}': expected cpu, inference or all`);
      await runWorkers(options.pool as Pool, loadConfig());
    });
}
