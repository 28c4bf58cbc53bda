import type { Client } from "@temporalio/client";
import type { Config } from "../lib/config/config.schema.ts";
import { connectClient } from "../lib/temporal/connection.ts";
import { InfrastructureError, startHint } from "./cli.errors.ts";

/** The Temporal UI page of a workflow. */
export function uiLink(config: Config, workflowId: string): string {
  return `${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}`;
}

/** Runs `work` with a Temporal client; a server that does not answer is named, with how to start it. */
export async function withClient<T>(config: Config, work: (client: Client) => Promise<T>): Promise<T> {
  // 5 s, not the SDK's 10: a server that has not answered a connection in 5 s (a loopback dev
  // server or Temporal Cloud alike) is down, and a person is waiting.
  const client = await connectClient(config, { connectTimeout: 5_000 }).catch((error: Error) => {
    throw new InfrastructureError(
      `Temporal at ${config.temporal.address} does not answer (${error.message}); ${startHint(config.temporal.address)}`,
    );
  });
  try {
    return await work(client);
  } finally {
    await client.connection.close();
  }
}
