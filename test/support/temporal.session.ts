import type { S3Client } from "@aws-sdk/client-s3";
import type { Client } from "@temporalio/client";
import type { NativeConnection } from "@temporalio/worker";
import { afterAll, beforeAll } from "vitest";
import type { Config } from "../../lib/config/config.schema.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { connectWorker } from "../../lib/temporal/worker.connection.ts";

export interface TemporalSession {
  s3: S3Client;
  /** Set once the file's beforeAll has run. */
  client: Client;
  connection: NativeConnection;
}

/** A test file's S3 client, Temporal client and worker connection: opened before its tests, closed after. */
export function temporalSession(config: Config): TemporalSession {
  const session = { s3: createS3Client(config) } as TemporalSession;
  beforeAll(async () => {
    session.connection = await connectWorker(config);
    session.client = await connectClient(config);
  });
  afterAll(async () => {
    await session.client?.connection.close();
    await session.connection?.close();
    session.s3.destroy();
  });
  return session;
}
