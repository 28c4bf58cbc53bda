import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import type { Client } from "@temporalio/client";
import type { NativeConnection } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { connectWorker } from "../../lib/temporal/worker.connection.ts";
import { createCpuWorker } from "../../workers/worker.factory.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("check");
const s3 = createS3Client(config);
let connection: NativeConnection;
let client: Client;

beforeAll(async () => {
  connection = await connectWorker(config);
  client = await connectClient(config);
});
afterAll(async () => {
  await client?.connection.close();
  await connection?.close();
  s3.destroy();
});

describe("stack check workflow", () => {
  it("runs on the real Temporal server and probes every storage location through an activity", async () => {
    // An archive with one granule file in it: the probe reads its first byte and writes nothing.
    const granule = `${config.storage.hls.prefix}HLS.S30.T15TVG.2022152T170849.v2.0/B04.tif`;
    await s3.send(new PutObjectCommand({ Bucket: config.storage.hls.bucket, Key: granule, Body: "II*\0" }));
    const worker = await createCpuWorker({ connection, config, s3 });
    const handle = await client.workflow.start("stackCheckWorkflow", {
      taskQueue: config.taskQueues.cpu,
      workflowId: `check-${config.taskQueues.cpu}`,
    });
    const results = await worker.runUntil(handle.result());
    expect(results.map((r: { location: string }) => r.location)).toEqual(["hls", "cdl", "work", "outputs"]);
    expect(results[0].url).toBe(`s3://crop-map-hls/${config.storage.hls.prefix}`);
    expect(results.map((r: { access: string }) => r.access)).toEqual([
      "read",
      "read",
      "read-write",
      "read-write",
    ]);
    // The archive's one byte read back; the empty CDL location listed only.
    expect(results.map((r: { bytes: number }) => r.bytes).slice(0, 2)).toEqual([1, 0]);

    // The activities ran in this worker: the history holds their completions.
    const history = await handle.fetchHistory();
    const completed = history.events?.filter((e) => e.activityTaskCompletedEventAttributes) ?? [];
    expect(completed).toHaveLength(4);

    // Inputs untouched, and the writable locations cleaned up after.
    for (const [name, location] of Object.entries(config.storage)) {
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: location.bucket, Prefix: location.prefix }),
      );
      expect((listed.Contents ?? []).map((o) => o.Key)).toEqual(name === "hls" ? [granule] : []);
    }
  });
});
