// A worker process with the test hooks the product's `crop-map worker` has none of:
// `npx tsx test/support/hooked.worker.ts <pool> <row delay ms>` pauses after each window row of
// inference, so a test can stop or kill the worker mid-tile.
import { loadConfig } from "../../lib/config/config.load.ts";
import { type Pool, runWorkers } from "../../workers/run.workers.ts";

const [pool, delay] = process.argv.slice(2);
const rowDelayMs = Number(delay);
await runWorkers(pool as Pool, loadConfig(), {
  afterRow: () => new Promise((resolve) => setTimeout(resolve, rowDelayMs)),
});
