import { activityInfo, heartbeat } from "@temporalio/activity";

/** Heartbeats from a timer while `work` runs, so a batch longer than the heartbeat timeout is not a lost worker. */
export async function heartbeating<T>(details: () => unknown, work: Promise<T>): Promise<T> {
  const timeoutMs = activityInfo().heartbeatTimeoutMs ?? 0;
  const everyMs = timeoutMs > 0 ? Math.max(100, Math.floor(timeoutMs / 3)) : 10_000;
  const timer = setInterval(() => heartbeat(details()), everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
