import type { Client } from "@temporalio/client";
import type { Config } from "../config/config.schema.ts";
import type { RunStatus } from "../contracts/run.contract.ts";
import { connectClient } from "../temporal/connection.ts";

/** What Temporal says about a run: its workflow's state, and the `status` query's answer while it runs. */
export interface LiveRun {
  /** RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, ... */
  workflowStatus: string;
  status?: RunStatus;
}

/** A page must not hang on a server that is down or a query no worker answers. */
const CallMs = 3000;
/** After a failed connection, the next attempt waits: a page of runs must not pay for it on every load. */
const RetryMs = 10_000;

/**
 * Temporal as the viewer sees it: optional. The client is connected on first use; when Temporal
 * does not answer, every lookup says "unknown" (undefined) and the page falls back on the files.
 */
export function createLiveStatus(config: Pick<Config, "temporal">) {
  let client: Promise<Client | undefined> | undefined;
  let failedAt = 0;

  function connected(): Promise<Client | undefined> {
    if (!client && Date.now() - failedAt > RetryMs) {
      client = connectClient(config, { connectTimeout: CallMs }).catch(() => {
        failedAt = Date.now();
        client = undefined;
        return undefined;
      });
    }
    return client ?? Promise.resolve(undefined);
  }

  return {
    /** The run's workflow state; undefined when Temporal is down or does not know the run. */
    async run(runId: string): Promise<LiveRun | undefined> {
      const c = await connected();
      if (!c) return undefined;
      const handle = c.workflow.getHandle(runId);
      const within = <T>(call: () => Promise<T>) => c.connection.withDeadline(Date.now() + CallMs, call);
      try {
        const description = await within(() => handle.describe());
        const workflowStatus = description.status.name;
        // A finished run is only queried by replaying it on a worker; its tiles.json says the same.
        if (workflowStatus !== "RUNNING") return { workflowStatus };
        const status = await within(() => handle.query<RunStatus>("status")).catch(() => undefined);
        return status ? { workflowStatus, status } : { workflowStatus };
      } catch {
        // Not found (a run Temporal no longer keeps), or Temporal stopped answering: the files say the rest.
        return undefined;
      }
    },

    /** Whether Temporal answers now (a connection is made or kept). */
    async reachable(): Promise<boolean> {
      return (await connected()) !== undefined;
    },

    async close(): Promise<void> {
      const c = await client;
      await c?.connection.close();
    },
  };
}

export type LiveStatus = ReturnType<typeof createLiveStatus>;
