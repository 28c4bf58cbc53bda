/** Task functions for the task pool's tests: a result, a thrown error, and threads that die. */

export function square({ x }: { x: number }): number {
  return x * x;
}

export function refuse({ why }: { why: string }): never {
  throw new Error(why);
}

/** The thread exits, as when the process in it is told to. */
export function die(): void {
  process.exit(3);
}

/** An uncaught error kills the thread (an 'error' event, then 'exit'), as a native crash or OOM does. */
export function crash({ afterMs }: { afterMs: number }): Promise<never> {
  setTimeout(() => {
    throw new Error("thread crashed");
  }, afterMs);
  return new Promise(() => {});
}

/** Keeps its thread busy for a while. */
export async function hold({ ms }: { ms: number }): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ms;
}
