import { createTaskPool, type TaskPool } from "../threads/task.pool.ts";

let pool: TaskPool | undefined;

/** Staging's task threads (stage.tasks.ts), shared by every staging activity in the process. */
export function stagePool(): TaskPool {
  pool ??= createTaskPool(new URL("./stage.tasks.ts", import.meta.url));
  return pool;
}

/** Ranges [from, to) over n, a few per thread so a thread slowed by other work holds no one up. */
export function shares(n: number, threads: number): [number, number][] {
  const count = threads * 4;
  return Array.from({ length: count }, (_, k) => [
    Math.floor((k * n) / count),
    Math.floor(((k + 1) * n) / count),
  ]);
}
