import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Config } from "../config/config.schema.ts";
import { RunIdParser } from "../contracts/run.contract.ts";
import { unsafeKeyReason } from "../core/s3.url.ts";
import { createS3Client } from "../storage/s3.client.ts";
import { ref } from "../storage/s3.objects.ts";
import { createLiveStatus } from "./live.status.ts";
import { proxyObject } from "./object.proxy.ts";
import { BundleFiles, ensurePageBundle } from "./page.bundle.ts";
import { pageConfig } from "./page.config.ts";
import { listRunIds, type RunEntry, readRun, runPrefix } from "./run.catalogue.ts";
import { pixelAt, runMap } from "./run.layers.ts";
import { mapPage, notFoundPage, runsPage } from "./viewer.pages.ts";

/** The port is taken: the caller names it to the person who chose it. */
export class PortInUseError extends Error {}

/** An answer the handler chose (404, 400, 403), as opposed to a failure of S3 or of the code. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly html?: string,
  ) {
    super(message);
  }
}

/**
 * What the viewer's own pages may load: its bundle, its API and the run files it proxies, and the
 * blob: workers geotiff.js decodes in. Inline styles only (the pages set colours inline); no inline
 * script, nothing from elsewhere, never framed.
 */
const PageSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers on every answer: no content sniffing, no framing, no referrer carrying a run's path off. */
const SecurityHeaders = {
  "content-security-policy": PageSecurityPolicy,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
} as const;

/**
 * A slow or stalled client is dropped: headers within 10 s, the whole request within 30 s (checked
 * every 2 s), no socket idle for a minute. Node's defaults hold a trickling client for minutes.
 */
const Timeouts = {
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  connectionsCheckingInterval: 2_000,
} as const;
const IdleTimeout = 60_000;

/** A path part with its %-escapes decoded; a malformed escape is the client's mistake (400). */
function decodePart(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new HttpError(400, "malformed %-escape in the path");
  }
}

const Wildcards = new Set(["0.0.0.0", "::", "[::]"]);
const LoopbackNames = ["127.0.0.1", "[::1]", "localhost"];

/**
 * The Host headers the viewer answers: its bound address and the --host name, with the port, and
 * every loopback name when it listens on loopback. A page elsewhere that rebinds its own name to
 * 127.0.0.1 sends that name, and is refused. Listening on every address, any IP literal or this
 * machine's name is answered (a rebound name is neither).
 */
function hostCheck(hosts: string[], port: number, machine: string): (header: string | undefined) => boolean {
  const bracket = (h: string) => (h.includes(":") && !h.startsWith("[") ? `[${h}]` : h).toLowerCase();
  const names = hosts.map(bracket);
  const allowed = new Set(names.map((name) => `${name}:${port}`));
  if (names.some((name) => LoopbackNames.includes(name)))
    for (const n of LoopbackNames) allowed.add(`${n}:${port}`);
  if (port === 80) for (const a of [...allowed]) allowed.add(a.slice(0, -":80".length));
  if (!names.some((name) => Wildcards.has(name)))
    return (header) => header !== undefined && allowed.has(header.toLowerCase());
  return (header) => {
    if (header === undefined) return false;
    let url: URL;
    try {
      url = new URL(`http://${header}`);
    } catch {
      return false;
    }
    if ((url.port || "80") !== String(port)) return false;
    const h = url.hostname.toLowerCase();
    return h === machine.toLowerCase() || h === "localhost" || /^[\d.]+$/.test(h) || h.startsWith("[");
  };
}

const send = (res: ServerResponse, status: number, type: string, body: string | Buffer) =>
  res
    .writeHead(status, { "content-type": type, "content-length": String(Buffer.byteLength(body)) })
    .end(body);
const sendJson = (res: ServerResponse, value: unknown, status = 200) =>
  send(res, status, "application/json", `${JSON.stringify(value)}\n`);

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/**
 * The viewer's HTTP server: the runs list, a run's map page, and what the page reads (the run's
 * files through a ranged proxy to S3, the pixel under a click). Listens first,
 * so a taken port is told at once, then checks that S3 answers and that the page bundle exists.
 */
export async function startViewer(config: Config, { host, port }: { host: string; port: number }) {
  const s3 = createS3Client(config);
  const live = createLiveStatus(config);
  let bundleDir = "";

  async function runOr404(runId: string): Promise<RunEntry> {
    const run = RunIdParser.safeParse(runId).success ? await readRun(s3, config, live, runId) : undefined;
    if (!run) throw new HttpError(404, `no run '${runId}'`, notFoundPage(runId));
    return run;
  }

  async function allRuns(): Promise<RunEntry[]> {
    const runs = await Promise.all((await listRunIds(s3, config)).map((id) => readRun(s3, config, live, id)));
    return runs.filter((r) => r !== undefined);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://viewer");
    const path = url.pathname;
    if (req.method !== "GET" && req.method !== "HEAD") throw new HttpError(405, "only GET and HEAD");

    if (path === "/") {
      const [runs, reachable] = await Promise.all([allRuns(), live.reachable()]);
      const html = runsPage(runs, { address: config.temporal.address, reachable });
      return void send(res, 200, "text/html; charset=utf-8", html);
    }
    if (path === "/api/runs") return void sendJson(res, await allRuns());
    const asset = /^\/assets\/([a-z.]+)$/.exec(path)?.[1];
    if (asset && Object.hasOwn(BundleFiles, asset))
      return void send(
        res,
        200,
        BundleFiles[asset as keyof typeof BundleFiles],
        await readFile(join(bundleDir, asset)),
      );

    const api = /^\/api\/runs\/([^/]+)(\/pixel)?$/.exec(path);
    if (api) {
      const run = await runOr404(decodePart(api[1] as string));
      if (!api[2]) return void sendJson(res, run);
      const x = Number(url.searchParams.get("x"));
      const y = Number(url.searchParams.get("y"));
      if (
        !url.searchParams.has("x") ||
        !url.searchParams.has("y") ||
        !Number.isFinite(x) ||
        !Number.isFinite(y)
      )
        throw new HttpError(400, "x and y must be numbers (EPSG:5070 metres)");
      const map = await runMap(s3, config, run.runId);
      if (!map) throw new HttpError(404, `run '${run.runId}' has no map yet`);
      const value = await pixelAt(s3, config, run.runId, map, [x, y]);
      if (!value) throw new HttpError(404, `${x}, ${y} is outside the map`);
      return void sendJson(res, value);
    }

    const page = /^\/runs\/([^/]+)(\/(.*))?$/.exec(path);
    if (!page) throw new HttpError(404, `nothing at ${path}`);
    const runId = decodePart(page[1] as string);
    const rest = page[3] ?? "";
    if (rest.startsWith("files/")) {
      const relative = decodePart(rest.slice("files/".length));
      const unsafe = unsafeKeyReason(relative) ?? (relative === "" ? "is empty" : undefined);
      if (unsafe || !RunIdParser.safeParse(runId).success)
        throw new HttpError(403, `'${relative}' is not a file of run '${runId}': ${unsafe ?? "bad run id"}`);
      return proxyObject(s3, ref(config.storage.outputs, `${runPrefix(runId)}${relative}`), req, res);
    }
    const run = await runOr404(runId);
    if (rest === "")
      return void send(res, 200, "text/html; charset=utf-8", mapPage(run, await pageConfig(s3, config, run)));
    throw new HttpError(404, `nothing at ${path}`);
  }

  let hostAllowed: (header: string | undefined) => boolean = () => false;
  const server = createServer(Timeouts, (req, res) => {
    for (const [name, value] of Object.entries(SecurityHeaders)) res.setHeader(name, value);
    if (!hostAllowed(req.headers.host))
      return void sendJson(
        res,
        { error: `this viewer does not answer for host '${req.headers.host ?? ""}'` },
        421,
      );
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (error instanceof HttpError) {
        if (error.html) return void send(res, error.status, "text/html; charset=utf-8", error.html);
        return void sendJson(res, { error: error.message }, error.status);
      }
      const e = error as { code?: string; $metadata?: unknown; message?: string };
      const s3Down = e?.$metadata !== undefined && e.code === "ECONNREFUSED";
      const message = s3Down
        ? `the S3 server at ${config.s3.endpoint} does not answer`
        : String(e?.message ?? error);
      console.error(`crop-map serve: ${req.method} ${req.url}: ${message}`);
      // The log has the details; the client is told only what kind of failure it was.
      sendJson(res, { error: s3Down ? message : "the viewer failed; its log says why" }, s3Down ? 502 : 500);
    });
  });

  server.timeout = IdleTimeout;
  try {
    await listen(server, host, port);
  } catch (error) {
    s3.destroy();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE")
      throw new PortInUseError(`port ${port} on ${host} is in use; choose another with --port`);
    if (code === "EACCES")
      throw new PortInUseError(`port ${port} on ${host} needs privileges; choose another with --port`);
    throw error;
  }

  async function close(): Promise<void> {
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closed;
    await live.close();
    s3.destroy();
  }

  try {
    // Without S3 there is nothing to show: a server that does not answer stops the start (exit 3).
    await listRunIds(s3, config);
    bundleDir = await ensurePageBundle();
  } catch (error) {
    await close();
    throw error;
  }
  const address = server.address();
  const bound = typeof address === "object" && address ? address.port : port;
  const boundAddress = typeof address === "object" && address ? address.address : host;
  hostAllowed = hostCheck([host, boundAddress], bound, hostname());
  return { url: `http://${host.includes(":") ? `[${host}]` : host}:${bound}/`, close };
}
