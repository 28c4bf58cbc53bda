import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, HeadBucketCommand, ListBucketsCommand } from "@aws-sdk/client-s3";
import { z } from "zod";
import type { Config } from "../../lib/config/config.schema.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { freePorts, isListening, PortBusyError, waitForPortsFree } from "./ports.ts";
import { isAlive, stopServer } from "./process.ts";
import { SeaweedPortNames, type SeaweedPorts, startS3Server } from "./s3.server.ts";
import { portsOf, startTemporalServer } from "./temporal.server.ts";

/** What a running stack is, as written to `<dir>/stack.json` for `dev status` and `dev down`. */
export const StackStateParser = z
  .object({
    dir: z.string(),
    startedAt: z.string(),
    temporal: z
      .object({
        pid: z.number().int(),
        address: z.string(),
        uiUrl: z.string(),
        namespace: z.string(),
        dbFile: z.string(),
        logFile: z.string(),
      })
      .strict(),
    s3: z.object({ pid: z.number().int(), endpoint: z.string(), logFile: z.string() }).strict(),
    buckets: z.array(z.string()),
  })
  .strict();
export type StackState = z.infer<typeof StackStateParser>;

export interface StackPorts {
  temporal: number;
  temporalUi: number;
  s3: number;
}

/** The standard ports of `crop-map dev up`, which the embedded default config points at. */
export const StandardPorts: StackPorts = { temporal: 7233, temporalUi: 8233, s3: 8333 };

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Home of the developer stack: $CROP_MAP_HOME, else `.crop-map/` in the repository. */
export function devStackDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.CROP_MAP_HOME ?? join(repoRoot, ".crop-map"), "dev");
}

function stateFile(dir: string): string {
  return join(dir, "stack.json");
}

export interface StartStackOptions {
  dir: string;
  /** The Temporal namespace and the buckets come from here. */
  config: Config;
  /** Fixed ports, or free ones picked now (tests, which may run beside a developer stack). */
  ports: StackPorts | "free";
  /** Outlive this process (`dev up`) or die with it (tests). */
  detached: boolean;
  /** How long to wait for a port still held before failing (default 15 s). */
  portWaitMs?: number;
}

export function bucketsOf(config: Config): string[] {
  return [...new Set(Object.values(config.storage).map((location) => location.bucket))];
}

async function ensureBuckets(config: Config, endpoint: string, buckets: string[]): Promise<void> {
  const s3 = createS3Client({ s3: { ...config.s3, endpoint } });
  try {
    // The gateway listens before its filer is ready; wait until it answers a real request.
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await s3.send(new ListBucketsCommand({}));
        break;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`S3 server at ${endpoint} never answered: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    for (const bucket of buckets) {
      try {
        await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      } catch {
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      }
    }
  } finally {
    s3.destroy();
  }
}

/**
 * Starts a server once its ports are free, and once more if it fails anyway: a stack stopped a
 * moment ago can still hold a port as the new server binds it (about one start in ten right after
 * another stack stopped). The second failure stands, naming the port where the server told it.
 */
async function onFreePorts<T>(
  ports: Record<string, number>,
  waitMs: number,
  start: () => Promise<T>,
): Promise<T> {
  await waitForPortsFree(ports, waitMs);
  try {
    return await start();
  } catch (error) {
    if (error instanceof PortBusyError) throw error;
    await waitForPortsFree(ports, waitMs);
    return start();
  }
}

/** Starts Temporal and S3, creates the buckets, and records the stack in `<dir>/stack.json`. */
export async function startStack(options: StartStackOptions): Promise<StackState> {
  const { dir, config } = options;
  await mkdir(dir, { recursive: true });
  const extra = await freePorts(4 + SeaweedPortNames.length + (options.ports === "free" ? 3 : 0));
  const take = () => extra.pop() as number;
  const ports: StackPorts =
    options.ports === "free" ? { temporal: take(), temporalUi: take(), s3: take() } : options.ports;
  const seaweedPorts = Object.fromEntries(
    SeaweedPortNames.map((name) => [name, name === "s3" ? ports.s3 : take()]),
  ) as SeaweedPorts;

  const temporalOptions = {
    dir,
    port: ports.temporal,
    uiPort: ports.temporalUi,
    httpPort: take(),
    metricsPort: take(),
    namespace: config.temporal.namespace,
    detached: options.detached,
  };
  const waitMs = options.portWaitMs ?? 15_000;
  const temporal = await onFreePorts(portsOf(temporalOptions), waitMs, () =>
    startTemporalServer(temporalOptions),
  );
  let s3: Awaited<ReturnType<typeof startS3Server>> | undefined;
  try {
    const s3Ports = Object.fromEntries(
      Object.entries(seaweedPorts).map(([name, port]) => [`SeaweedFS ${name}`, port]),
    );
    s3 = await onFreePorts(s3Ports, waitMs, () =>
      startS3Server({ dir, ports: seaweedPorts, detached: options.detached }),
    );
    const buckets = bucketsOf(config);
    await ensureBuckets(config, s3.endpoint, buckets);
    const state: StackState = {
      dir,
      startedAt: new Date().toISOString(),
      temporal: {
        pid: temporal.pid,
        address: temporal.address,
        uiUrl: temporal.uiUrl,
        namespace: temporal.namespace,
        dbFile: temporal.dbFile,
        logFile: temporal.logFile,
      },
      s3: { pid: s3.pid, endpoint: s3.endpoint, logFile: s3.logFile },
      buckets,
    };
    await writeFile(stateFile(dir), `${JSON.stringify(state, null, 2)}\n`);
    return state;
  } catch (error) {
    await stopServer(temporal.pid);
    if (s3) await stopServer(s3.pid);
    throw error;
  }
}

export async function readStackState(dir: string): Promise<StackState | undefined> {
  if (!existsSync(stateFile(dir))) return undefined;
  return StackStateParser.parse(JSON.parse(await readFile(stateFile(dir), "utf8")));
}

/** Stops both servers; their data (the SQLite file, the objects) stays for the next start. */
export async function stopStack(state: StackState): Promise<void> {
  await Promise.all([stopServer(state.temporal.pid), stopServer(state.s3.pid)]);
  await rm(stateFile(state.dir), { force: true });
}

export interface StackHealth {
  temporal: boolean;
  s3: boolean;
}

export async function stackHealth(state: StackState): Promise<StackHealth> {
  const port = (address: string) => Number(address.split(":").pop());
  return {
    temporal: isAlive(state.temporal.pid) && (await isListening(port(state.temporal.address))),
    s3: isAlive(state.s3.pid) && (await isListening(port(new URL(state.s3.endpoint).host))),
  };
}

/** The config fields that point a client at this stack. */
export function stackConfigOverrides(state: StackState) {
  return {
    temporal: {
      address: state.temporal.address,
      uiUrl: state.temporal.uiUrl,
      namespace: state.temporal.namespace,
    },
    s3: { endpoint: state.s3.endpoint },
  };
}
