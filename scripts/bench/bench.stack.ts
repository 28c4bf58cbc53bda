import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import type { Client } from "@temporalio/client";
import type { Worker } from "@temporalio/worker";
import { stackConfigOverrides, startStack, stopStack } from "../../infra/dev/stack.ts";
import { loadConfig } from "../../lib/config/config.load.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import { closeModels } from "../../lib/model/model.session.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { connectWorker } from "../../lib/temporal/worker.connection.ts";
import { bundleWorkflows, createCpuWorker, createInferenceWorker } from "../../workers/worker.factory.ts";

export interface BenchStack {
  config: Config;
  s3: S3Client;
  /** A temporary folder for the stack and the bench's own files, removed on stop. */
  dir: string;
  /** The S3 server's process, whose CPU time a bench may count beside its own. */
  s3Pid: number;
  stop(): Promise<void>;
}

/** Temporal and S3 on free ports, in a temporary folder; `stop` removes it all, model threads included. */
export async function startBenchStack(): Promise<BenchStack> {
  const dir = await mkdtemp(join(tmpdir(), "crop-map-bench-"));
  const state = await startStack({ dir, config: loadConfig({ env: {} }), ports: "free", detached: false });
  const config = loadConfig({ env: {}, overrides: stackConfigOverrides(state) });
  const s3 = createS3Client(config);
  return {
    config,
    s3,
    dir,
    s3Pid: state.s3.pid,
    async stop() {
      await closeModels();
      s3.destroy();
      await stopStack(state);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `work` against a private stack (see startBenchStack) and removes it after. */
export async function withPrivateStack<T>(
  work: (config: Config, s3: S3Client, dir: string) => Promise<T>,
): Promise<T> {
  const stack = await startBenchStack();
  try {
    return await work(stack.config, stack.s3, stack.dir);
  } finally {
    await stack.stop();
  }
}

/**
 * Both worker pools in this process on a private stack's config (the workflows bundled once) for
 * the length of `work`, which gets a client; they are shut down after, whatever happens.
 */
export async function withBenchWorkers<T>(
  config: Config,
  s3: S3Client,
  work: (client: Client) => Promise<T>,
): Promise<T> {
  const connection = await connectWorker(config);
  const client = await connectClient(config);
  const workers: Worker[] = [
    await createCpuWorker({ connection, config, s3, bundle: await bundleWorkflows() }),
    await createInferenceWorker({ connection, config, s3 }),
  ];
  const running = workers.map((w) => w.run());
  try {
    return await work(client);
  } finally {
    for (const w of workers) w.shutdown();
    await Promise.allSettled(running);
    await client.connection.close();
    await connection.close();
  }
}
