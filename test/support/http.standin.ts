import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/** A loopback HTTP server standing in for a remote endpoint in a test. */
export interface StandIn {
  /** Base URL, ending in "/". */
  url: string;
  port: number;
  close(): Promise<void>;
}

export type Handler = (request: IncomingMessage, response: ServerResponse, url: URL) => unknown;

/**
 * Starts `handler` on a free port of a loopback address; a handler that throws answers 500. Two
 * stand-ins on 127.0.0.1 and localhost are two hosts to a client, as a DAAC and URS are.
 */
export async function startStandIn(handler: Handler, host = "127.0.0.1"): Promise<StandIn> {
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", `http://${request.headers.host}`);
    Promise.resolve(handler(request, response, url)).catch((error: Error) => {
      if (!response.headersSent) response.writeHead(500, { "content-type": "text/plain" });
      response.end(`stand-in failed: ${error.message}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://${host}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}
