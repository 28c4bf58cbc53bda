import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { Command } from "commander";
import { loadConfig } from "../../lib/config/config.load.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { connectWorker, useQuietTemporalRuntime } from "../../lib/temporal/worker.connection.ts";
import { InfrastructureError, InputError, optionValue } from "../../scripts/cli.errors.ts";
import { createCpuWorker } from "../../workers/worker.factory.ts";
import { stackCheckWorkflow } from "../../workflows/index.ts";
import { dockerUnavailable } from "../images/docker.cli.ts";
import { checkoutBuildId, ensureWorkerImages, ImageRefParser } from "../images/images.build.ts";
import {
  listPoolContainers,
  publishModels,
  startPoolContainers,
  stopPoolContainers,
} from "../images/pool.containers.ts";
import {
  devStackDir,
  readStackState,
  type StackState,
  StandardPorts,
  stackHealth,
  startStack,
  stopStack,
} from "./stack.ts";
import { ensureGoTool, ensureTool, type GoToolName, GoTools } from "./tools.ts";

/** The label and name prefix of the local cluster's worker containers. */
const DevContainers = "crop-map-dev";
/** The demo model the local cluster's inference pool fetches from S3 at start. */
const DevModels = ["crop-tiny"];
/** Metrics ports of the containers: CPU 1 and 2, then inference. */
const DevMetricsPorts = [9464, 9465, 9466];

/**
 * Both pools as containers of this checkout's images (built when missing), on the stack just
 * started: 2 CPU replicas and 1 inference replica, as the chart's pods run, unversioned like
 * every worker on the local stack so that processes and containers serve the same queues.
 */
async function startDevContainers(dir: string, config: Config, base: string | undefined): Promise<void> {
  const unavailable = await dockerUnavailable();
  if (unavailable) throw new InfrastructureError(`--containers: ${unavailable}; start it (as root: dockerd)`);
  const images = await ensureWorkerImages(await checkoutBuildId(), (line) => console.error(line), base);
  const s3 = createS3Client(config);
  const manifestsDir = join(dir, "models");
  try {
    await publishModels(s3, config, DevModels, manifestsDir);
  } finally {
    s3.destroy();
  }
  console.log("starting the worker containers ...");
  const containers = await startPoolContainers({
    prefix: DevContainers,
    images,
    config,
    cpuReplicas: 2,
    inferenceReplicas: 1,
    metricsPorts: DevMetricsPorts,
    manifestsDir,
    preload: DevModels,
  });
  for (const c of containers)
    console.log(`${c.name.padEnd(24)} ${c.image}   metrics http://127.0.0.1:${c.metricsPort}/metrics`);
}

/** The local cluster's containers, where a Docker daemon answers (none otherwise). */
async function devContainers(): Promise<string[]> {
  return (await dockerUnavailable()) ? [] : listPoolContainers(DevContainers);
}

async function describe(state: StackState) {
  const health = await stackHealth(state);
  return {
    up: health.temporal && health.s3,
    dir: state.dir,
    temporal: { ...state.temporal, up: health.temporal },
    s3: { ...state.s3, up: health.s3 },
    buckets: state.buckets,
  };
}

function printStatus(status: Awaited<ReturnType<typeof describe>>): void {
  const mark = (up: boolean) => (up ? "up  " : "DOWN");
  console.log(
    `Temporal  ${mark(status.temporal.up)}  ${status.temporal.address}  namespace ${status.temporal.namespace}`,
  );
  console.log(`          UI ${status.temporal.uiUrl}   log ${status.temporal.logFile}`);
  console.log(`S3        ${mark(status.s3.up)}  ${status.s3.endpoint}   log ${status.s3.logFile}`);
  console.log(`buckets   ${status.buckets.join(", ")}`);
}

export function registerDevCommand(program: Command): void {
  const dev = program
    .command("dev")
    .description(
      "the local stack: a Temporal dev server (SQLite-backed) and a SeaweedFS S3 server on loopback",
    );

  dev
    .command("up")
    .description(
      "install (if missing) and start the local stack on its standard ports, and create the buckets",
    )
    .option(
      "--containers",
      "also run the CPU pool (2 replicas) and the inference pool (1) as containers of this checkout's images, built when missing (a Docker daemon is needed)",
    )
    .option("--base <image>", "with --containers: base image of a build (default: the local Debian 13 base)")
    .action(async (options: { containers?: boolean; base?: string }) => {
      let base: string | undefined;
      if (options.base !== undefined) {
        if (!options.containers) throw new InputError("--base is an option of --containers");
        base = optionValue("--base", options.base, ImageRefParser);
      }
      const dir = devStackDir();
      const config = loadConfig();
      const existing = await readStackState(dir);
      if (existing && (await describe(existing)).up) {
        console.log("local stack already up");
        printStatus(await describe(existing));
      } else {
        if (existing) await stopStack(existing);
        console.log(`starting the local stack in ${dir} ...`);
        const state = await startStack({ dir, config, ports: StandardPorts, detached: true });
        printStatus(await describe(state));
      }
      if (options.containers) await startDevContainers(dir, config, base);
    });

  dev
    .command("tools")
    .description(
      "install (if missing) the programs the stack and the tests run: Temporal CLI, SeaweedFS, the STAC schemas, Helm",
    )
    .action(async () => {
      // Not the Sentinel-2 grid: only the tile table's build script reads it.
      for (const name of ["temporal", "seaweedfs", "stacSchemas"] as const)
        console.log(await ensureTool(name));
      for (const name of Object.keys(GoTools) as GoToolName[]) console.log(await ensureGoTool(name));
    });

  dev
    .command("down")
    .description(
      "stop the worker containers of `dev up --containers`, then the local stack (its data stays for the next `dev up`)",
    )
    .action(async () => {
      if ((await devContainers()).length > 0)
        console.log(`worker containers stopped: ${(await stopPoolContainers(DevContainers)).join(", ")}`);
      const state = await readStackState(devStackDir());
      if (!state) {
        console.log("local stack is not running");
        return;
      }
      await stopStack(state);
      console.log("local stack stopped");
    });

  dev
    .command("status")
    .description("show whether the local stack is up, its endpoints, ports and buckets")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }) => {
      const state = await readStackState(devStackDir());
      const status = state ? await describe(state) : undefined;
      if (options.json) {
        console.log(JSON.stringify(status ?? { up: false, dir: devStackDir() }, null, 2));
      } else if (status) {
        printStatus(status);
        const containers = await devContainers();
        if (containers.length > 0) console.log(`workers   ${containers.join(", ")} (docker ps)`);
      } else {
        console.log("local stack is not running (start it with: npx crop-map dev up)");
      }
      if (!status?.up) process.exitCode = 3;
    });

  dev
    .command("check")
    .description(
      "run a workflow whose activities list and read the input locations (HLS, CDL) and write, read and delete a probe object in the work and output locations",
    )
    .action(async () => {
      const config = loadConfig();
      const s3 = createS3Client(config);
      // The probe's worker lines at INFO would drown the check's own output.
      useQuietTemporalRuntime();
      const connection = await connectWorker(config).catch((error: Error) => {
        throw new InputError(`cannot reach Temporal at ${config.temporal.address}: ${error.message}`);
      });
      // A private queue, so that the probe runs on this process and not on a pool worker.
      const taskQueue = `crop-map-check-${randomUUID()}`;
      const worker = await createCpuWorker({ connection, config, s3, taskQueue });
      const client = await connectClient(config);
      try {
        const results = await worker.runUntil(
          client.workflow.execute(stackCheckWorkflow, {
            taskQueue,
            workflowId: `stack-check-${randomUUID()}`,
          }),
        );
        for (const r of results)
          console.log(
            `${r.location.padEnd(8)} ${r.url.padEnd(28)} ${r.access.padEnd(10)} ok  ${r.roundTripMs} ms`,
          );
      } finally {
        await client.connection.close();
        await connection.close();
        s3.destroy();
      }
    });
}
