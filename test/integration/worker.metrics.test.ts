import { execFile } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Client } from "@temporalio/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts } from "../../infra/dev/ports.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { spawnWorker } from "../support/child.worker.ts";
import { dashboardMetrics } from "../support/grafana.dashboard.ts";
import { testConfig } from "../support/test.config.ts";

// A CPU worker in its own process, as in a pod: the image's prebuilt workflow bundle, Prometheus
// metrics on a port, JSON logs. After a workflow and its activities ran, the endpoint serves the
// SDK's metrics and the pipeline's own.
const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
const config = testConfig("metrics");
let dir: string;
let client: Client;
let worker: ReturnType<typeof spawnWorker> | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crop-map-metrics-"));
  client = await connectClient(config);
});

afterAll(async () => {
  await worker?.kill();
  await client?.connection.close();
  await rm(dir, { recursive: true, force: true });
});

async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

/** The value of one sample line, `name{labels} value`, summed over the lines that match. */
function sampleSum(text: string, name: string, labels: RegExp = /.*/): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name) || line.startsWith("#")) continue;
    const match = /^(\S+?)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (match?.[1] === name && labels.test(match[2] ?? "")) sum += Number(match[3]);
  }
  return sum;
}

describe("worker metrics", () => {
  it("serves the SDK's and the pipeline's metrics after activities ran, from a prebuilt bundle", async () => {
    const bundle = join(dir, "workflow-bundle.js");
    await run("npx", ["tsx", "scripts/build-workflow-bundle.ts", bundle], { cwd: root });
    expect((await stat(bundle)).size).toBeGreaterThan(10_000);

    const [port] = (await freePorts(1)) as [number];
    worker = spawnWorker("cpu", config, {
      CROP_MAP_METRICS_PORT: String(port),
      CROP_MAP_WORKFLOW_BUNDLE: bundle,
      CROP_MAP_LOG_FORMAT: "json",
    });
    const handle = await client.workflow.start("stackCheckWorkflow", {
      taskQueue: config.taskQueues.cpu,
      workflowId: `metrics-${config.taskQueues.cpu}`,
    });
    const results = await handle.result();
    expect(results).toHaveLength(4);

    // The SDK flushes its metrics on its own schedule; the pipeline's counters are there with them.
    let text = "";
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      text = await scrape(port);
      if (
        sampleSum(text, "crop_map_stage_seconds_count") >= 4 &&
        /^temporal_activity_execution_latency/m.test(text)
      )
        break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // Temporal SDK metrics: workflow and activity tasks this worker ran.
    expect(text).toMatch(/^temporal_activity_execution_latency\S*\{/m);
    expect(text).toMatch(/^temporal_workflow_completed\S*\{/m);
    // The pipeline's: every probe activity timed by stage, and the bytes its reads brought back.
    expect(sampleSum(text, "crop_map_stage_seconds_count", /stage="probeStorage"/)).toBe(4);
    expect(sampleSum(text, "crop_map_bytes_read_total")).toBeGreaterThan(0);
    // Every Temporal metric the Grafana dashboard charts is one this worker exports.
    for (const name of [...dashboardMetrics()].filter((n) => n.startsWith("temporal_")))
      expect(text, name).toContain(`\n${name}`);

    // JSON log lines from the SDK's logger.
    const jsonLines = worker
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level?: string; message?: string });
    expect(jsonLines.some((l) => l.level === "INFO" && typeof l.message === "string")).toBe(true);
  });
});
