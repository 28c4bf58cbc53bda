/**
 * The task module of the raster threads: one pool serves COG reads (decodeTiles) and the strip COG
 * writer (encodeRow), so a process that reads and writes COGs at once (the mosaic) runs one thread
 * per core rather than two, each thread an isolate of its own (about 35 MB).
 */
import type { TaskPool } from "../threads/task.pool.ts";
import { createTaskPool } from "../threads/task.pool.ts";

export { decodeTiles } from "./cog.decode.tasks.ts";
export { encodeRow } from "./cog.encode.tasks.ts";

let pool: TaskPool | undefined;
/** One pool per process, shared by every reader and writer: threads start on first use. */
export function rasterPool(): TaskPool {
  pool ??= createTaskPool(new URL("./raster.tasks.ts", import.meta.url));
  return pool;
}
