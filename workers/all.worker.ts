// Entry point of an all-in-one worker for local runs: both pools in one process.
import { loadConfig } from "../lib/config/config.load.ts";
import { runWorkers } from "./run.workers.ts";

await runWorkers("all", loadConfig());
