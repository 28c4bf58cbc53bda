// Entry point of a CPU-pool worker process: `npx tsx workers/cpu.worker.ts`.
import { loadConfig } from "../lib/config/config.load.ts";
import { runWorkers } from "./run.workers.ts";

await runWorkers("cpu", loadConfig());
