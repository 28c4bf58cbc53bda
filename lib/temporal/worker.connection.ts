// The worker side of Temporal (the SDK's native core): apart from connection.ts so that a CLI
// command that only starts or queries workflows does not load it (about half a second a start).
import { DefaultLogger, NativeConnection, Runtime } from "@temporalio/worker";
import type { Config } from "../config/config.schema.ts";
import { apiKeyOptions } from "./connection.ts";

/** The connection a worker polls through. */
export function connectWorker(config: Pick<Config, "temporal">): Promise<NativeConnection> {
  return NativeConnection.connect({ address: config.temporal.address, ...apiKeyOptions(config.temporal) });
}

/** Worker lifecycle lines at INFO drown a command's own output; a CLI process keeps warnings only. */
export function useQuietTemporalRuntime(): void {
  Runtime.install({ logger: new DefaultLogger("WARN") });
}
