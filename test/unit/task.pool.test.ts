import { afterEach, describe, expect, it } from "vitest";
import { createTaskPool, type TaskPool } from "../../lib/threads/task.pool.ts";

const Tasks = new URL("../support/pool.tasks.ts", import.meta.url);
let pool: TaskPool | undefined;
afterEach(async () => {
  await pool?.close();
});

describe("task pool", () => {
  it("runs tasks on its threads and answers each with its own result", async () => {
    pool = createTaskPool(Tasks, 2);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, x) => (pool as TaskPool).run<number>("square", { x })),
    );
    expect(results).toEqual(Array.from({ length: 12 }, (_, x) => x * x));
  });

  it("rejects a task that throws with its message, and goes on", async () => {
    pool = createTaskPool(Tasks, 1);
    await expect(pool.run("refuse", { why: "no such band" })).rejects.toThrow("no such band");
    await expect(pool.run("nothing", {})).rejects.toThrow("no task 'nothing'");
    expect(await pool.run<number>("square", { x: 3 })).toBe(9);
  });

  it("fails only the job of a thread that dies; the other threads keep taking work", async () => {
    pool = createTaskPool(Tasks, 2);
    // Both threads started and known before one dies.
    await Promise.all([pool.run("square", { x: 1 }), pool.run("square", { x: 2 })]);
    await expect(pool.run("die", {})).rejects.toThrow("task thread exited with code 3");
    const after = await Promise.all(
      Array.from({ length: 6 }, (_, x) => (pool as TaskPool).run<number>("square", { x })),
    );
    expect(after).toEqual([0, 1, 4, 9, 16, 25]);
  });

  it("keeps the work queued behind a thread that crashes for the thread that lives", async () => {
    pool = createTaskPool(Tasks, 2);
    await Promise.all([pool.run("square", { x: 1 }), pool.run("square", { x: 2 })]);
    // One thread crashes while the other is busy and work waits in the queue.
    const crashed = pool.run("crash", { afterMs: 50 });
    const busy = pool.run<number>("hold", { ms: 400 });
    const queued = Array.from({ length: 6 }, (_, x) => (pool as TaskPool).run<number>("square", { x }));
    await expect(crashed).rejects.toThrow("thread crashed");
    expect(await busy).toBe(400);
    expect(await Promise.all(queued)).toEqual([0, 1, 4, 9, 16, 25]);
  });

  it("rejects what waits when its last thread dies", async () => {
    pool = createTaskPool(Tasks, 1);
    const dying = pool.run("die", {});
    const waiting = pool.run("square", { x: 2 });
    await expect(dying).rejects.toThrow("exited with code 3");
    await expect(waiting).rejects.toThrow("exited with code 3");
  });
});
