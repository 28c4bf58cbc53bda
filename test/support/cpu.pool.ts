import type { S3Client } from "@aws-sdk/client-s3";
import type { Client } from "@temporalio/client";
import type { NativeConnection } from "@temporalio/worker";
import type { Config } from "../../lib/config/config.schema.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { connectWorker } from "../../lib/temporal/worker.connection.ts";
import { createCpuWorker, createInferenceWorker } from "../../workers/worker.factory.ts";
import { testBundle } from "./test.bundle.ts";

/** A CPU-pool worker running in this process (every workflow and the CPU activities), and a client. */
export interface CpuPool {
  connection: NativeConnection;
  client: Client;
  stop(): Promise<void>;
}

/** With `inference`, an inference-pool worker beside it (predictions, training). */
export async function startCpuPool(
  config: Config,
  s3: S3Client,
  options = { inference: false },
): Promise<CpuPool> {
  const connection = await connectWorker(config);
  const client = await connectClient(config);
  const workers = [await createCpuWorker({ connection, config, s3, bundle: testBundle() })];
  if (options.inference) workers.push(await createInferenceWorker({ connection, config, s3 }));
  const running = workers.map((w) => w.run());
  return {
    connection,
    client,
    async stop() {
      for (const w of workers) w.shutdown();
      await Promise.all(running);
      await client.connection.close();
      await connection.close();
    },
  };
}
