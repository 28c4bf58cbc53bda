import type { S3Client } from "@aws-sdk/client-s3";
import type { Client } from "@temporalio/client";
import type { NativeConnection } from "@temporalio/worker";
import type { Config } from "../../lib/config/config.schema.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { connectWorker } from "../../lib/temporal/worker.connection.ts";
import { createCpuWorker } from "../../workers/worker.factory.ts";
import { testBundle } from "./test.bundle.ts";

/** A CPU-pool worker running in this process (every workflow and the CPU activities), and a client. */
export interface CpuPool {
  connection: NativeConnection;
  client: Client;
  stop(): Promise<void>;
}

export async function startCpuPool(config: Config, s3: S3Client): Promise<CpuPool> {
  const connection = await connectWorker(config);
  const client = await connectClient(config);
  const worker = await createCpuWorker({ connection, config, s3, bundle: testBundle() });
  const running = worker.run();
  return {
    connection,
    client,
    async stop() {
      worker.shutdown();
      await running;
      await client.connection.close();
      await connection.close();
    },
  };
}
