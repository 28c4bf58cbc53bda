import { join } from "node:path";
import { waitForPort } from "./ports.ts";
import { logTail, type ServerProcess, startServer } from "./process.ts";
import { ensureTool } from "./tools.ts";

export interface TemporalServerOptions {
  /** Folder for the SQLite file and the log. */
  dir: string;
  port: number;
  uiPort: number;
  httpPort: number;
  metricsPort: number;
  namespace: string;
  detached: boolean;
}

export interface TemporalServer extends ServerProcess {
  address: string;
  uiUrl: string;
  namespace: string;
  dbFile: string;
}

/**
 * Starts `temporal server start-dev`, persisting to a SQLite file so that workflows survive a
 * server restart. The UI's news feed is off: the machine has no internet and must not try.
 */
export async function startTemporalServer(options: TemporalServerOptions): Promise<TemporalServer> {
  const binary = await ensureTool("temporal");
  const dbFile = join(options.dir, "temporal.sqlite");
  const args = [
    "server",
    "start-dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--ui-port",
    String(options.uiPort),
    "--http-port",
    String(options.httpPort),
    "--metrics-port",
    String(options.metricsPort),
    "--ui-disable-news-fetch",
    "--db-filename",
    dbFile,
    "--log-level",
    "warn",
    // "default" always exists; naming it again is an error.
    ...(options.namespace === "default" ? [] : ["--namespace", options.namespace]),
  ];
  const process = startServer(binary, args, join(options.dir, "temporal.log"), options.detached);
  await waitForPort(options.port, `Temporal server (log: ${process.logFile})`).catch((error: Error) => {
    throw new Error(`${error.message}; last lines:\n${logTail(process.logFile)}`);
  });
  return {
    ...process,
    address: `127.0.0.1:${options.port}`,
    uiUrl: `http://127.0.0.1:${options.uiPort}`,
    namespace: options.namespace,
    dbFile,
  };
}
