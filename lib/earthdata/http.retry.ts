import { setTimeout as sleep } from "node:timers/promises";
import { isTransientArchiveError } from "../errors/archive.errors.ts";

export interface RetryOptions {
  attempts: number;
  /** Wait before the second attempt; doubled for each one after, with jitter. */
  firstDelayMs: number;
}

/** Four tries over about 3.5 s: long enough for a restarting endpoint, short beside an activity's own retries. */
export const DefaultRetry: RetryOptions = { attempts: 4, firstDelayMs: 500 };

/** Runs `work`, again after a transient failure (network, 5xx, 429), up to `attempts` times. */
export async function withRetries<T>(
  work: () => Promise<T>,
  options: RetryOptions = DefaultRetry,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isTransientArchiveError(error) || attempt >= options.attempts) throw error;
      await sleep(options.firstDelayMs * 2 ** (attempt - 1) * (0.75 + Math.random() / 2));
    }
  }
}
