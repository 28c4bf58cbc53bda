import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import type { Client } from "@temporalio/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTool } from "../../infra/dev/tools.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { spawnWorker } from "../support/child.worker.ts";
import { testConfig } from "../support/test.config.ts";

// A versioned worker process (as the chart runs it) on the test server: once its build is made
// current with the CLI, as the README's upgrade steps say, a run is PINNED to that version.
const run = promisify(execFile);
const config = testConfig("versioning");
const deploymentName = `crop-map-test-${randomBytes(3).toString("hex")}`;
let client: Client;
let worker: ReturnType<typeof spawnWorker> | undefined;

beforeAll(async () => {
  client = await connectClient(config);
});

afterAll(async () => {
  await worker?.kill();
  await client?.connection.close();
});

describe("worker versioning", () => {
  it("pins a run to the Worker Deployment version that is current when it starts", async () => {
    worker = spawnWorker("cpu", config, {
      CROP_MAP_WORKER_DEPLOYMENT: deploymentName,
      CROP_MAP_WORKER_BUILD_ID: "b1",
    });
    const temporal = await ensureTool("temporal");
    const cli = [
      "--address",
      config.temporal.address,
      "--namespace",
      config.temporal.namespace,
      "worker",
      "deployment",
      "set-current-version",
      "--deployment-name",
      deploymentName,
      "--build-id",
      "b1",
      "--yes",
    ];
    // The version exists once the worker has polled with it.
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await run(temporal, cli);
        break;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(
            `set-current-version failed: ${(error as { stderr?: string }).stderr}\n${worker.output()}`,
          );
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    expect(worker.output()).toContain(`deployment ${deploymentName} build b1`);

    const handle = await client.workflow.start("stackCheckWorkflow", {
      taskQueue: config.taskQueues.cpu,
      workflowId: `versioning-${config.taskQueues.cpu}`,
    });
    expect(await handle.result()).toHaveLength(4);
    const info = (await handle.describe()).raw.workflowExecutionInfo?.versioningInfo;
    expect(info?.behavior).toBe(1); // VERSIONING_BEHAVIOR_PINNED
    expect(info?.deploymentVersion).toMatchObject({ deploymentName, buildId: "b1" });
  });
});
