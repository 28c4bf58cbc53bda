import { join } from "node:path";
import { waitForPort } from "./ports.ts";
import { isAlive, logTail, readLog, type ServerProcess, startServer, stopServer } from "./process.ts";
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

/** The ports a Temporal dev server binds, by what they are for. */
export function portsOf(
  options: Pick<TemporalServerOptions, "port" | "uiPort" | "httpPort" | "metricsPort">,
) {
  return {
    "Temporal frontend": options.port,
    "Temporal UI": options.uiPort,
    "Temporal HTTP API": options.httpPort,
    "Temporal metrics": options.metricsPort,
  };
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
  const logFile = join(options.dir, "temporal.log");
  // The log is appended to: only what this start writes is searched for a port it could not bind.
  const logStart = readLog(logFile).length;
  const process = startServer(binary, args, logFile, options.detached);
  await waitForPort(options.port, `Temporal server (log: ${process.logFile})`, 120_000, () =>
    isAlive(process.pid),
  ).catch(async (error: Error) => {
    await stopServer(process.pid);
    // Temporal names a port it could not bind only deep in its log: name it first.
    const taken = /127\.0\.0\.1:(\d+): bind: address already in use/.exec(
      readLog(logFile).slice(logStart),
    )?.[1];
    const named = Object.entries(portsOf(options)).find(([, port]) => String(port) === taken)?.[0];
    const cause = taken ? `port ${taken}${named ? ` (${named})` : ""} on 127.0.0.1 is in use; ` : "";
    throw new Error(`${cause}${error.message}; last lines:\n${logTail(process.logFile)}`);
  });
  return {
    ...process,
    address: `127.0.0.1:${options.port}`,
    uiUrl: `http://127.0.0.1:${options.uiPort}`,
    namespace: options.namespace,
    dbFile,
  };
}
