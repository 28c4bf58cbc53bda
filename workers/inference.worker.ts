// Entry point of an inference-pool worker process (GPU hosts: CROP_MAP_INFERENCE_DEVICE=cuda).
import { loadConfig } from "../lib/config/config.load.ts";
import { runWorkers } from "./run.workers.ts";

await runWorkers("inference", loadConfig());
