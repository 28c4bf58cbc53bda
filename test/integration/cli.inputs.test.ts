import { describe, expect, it } from "vitest";
import { freePort } from "../../infra/dev/ports.ts";
import type { RunSummary } from "../../lib/contracts/run.summary.ts";
import { createCpuWorker } from "../../workers/worker.factory.ts";
import { configEnv } from "../support/child.worker.ts";
import { cli } from "../support/cli.run.ts";
import { temporalSession } from "../support/temporal.session.ts";
import { testConfig } from "../support/test.config.ts";

describe("the CLI refuses what a workflow would refuse, before anything starts", () => {
  it.each([
    [
      ["run", "--state", "RI", "--year", "2022", "--max-tiles-in-flight", "501"],
      "--max-tiles-in-flight '501': expected a whole number from 1 to 500",
    ],
    [
      ["run", "--state", "RI", "--year", "2022", "--retry-rounds", "11"],
      "--retry-rounds '11': expected a whole number from 0 to 10",
    ],
    [
      ["run", "--state", "RI", "--year", "2022", "--retry-delay", "1e12"],
      "--retry-delay '1e12': expected a number from 0 to 86400",
    ],
    [
      ["run", "--state", "RI", "--year", "2022", "--retry-rounds", ""],
      "--retry-rounds '': expected a whole number from 0 to 10",
    ],
    [["tile", "--tile", "19TCG", "--year", "abc"], "--year 'abc': expected a whole number from 2013 to 2100"],
    [["tile", "--tile", "19TCG", "--year", "2099"], "--year 2099: HLS v2.0 covers 2013 to this year"],
    [
      ["tile", "--tile", "19TCG", "--year", "2022", "--tiling", "blended", "--border", "17"],
      "--border '17': 2 x border + stride must be at most the 224 px window, or pixels between windows are left out",
    ],
    [
      ["run", "--state", "RI", "--year", "2022", "--border", "4"],
      "--border '4': only blended tiling drops a border (add --tiling blended)",
    ],
    [["serve", "--port", "0x50"], "--port '0x50': expected a whole number from 1 to 65535"],
    // Past the defaults of every option (the parity tolerance's among them) to the model's name.
    [
      ["model", "export", "nope", "--out", "unused"],
      "model 'nope': the export builds prithvi-crop-100m, sits-former, prithvi-eo2-300m, prithvi-eo2-300m-tl, prithvi-eo2-600m, prithvi-eo2-600m-tl",
    ],
    [
      ["model", "export", "sits-former", "--out", "unused", "--bands", "B02,B05"],
      `--bands 'B02,B05': 1="B05": Invalid option: expected one of "B02"|"B03"|"B04"|"B8A"|"B11"|"B12"`,
    ],
  ])("exits 2 with one line for %j", async (args, message) => {
    // Nothing listens: a refusal must come before any server is asked.
    const down = {
      CROP_MAP_TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
      CROP_MAP_S3_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
    };
    const { code, stderr } = await cli(args, down);
    expect(code, stderr).toBe(2);
    expect(stderr).toBe(`crop-map: ${message}\n`);
  });
});

describe("resume", () => {
  const config = testConfig("resume");
  const session = temporalSession(config);

  it("resumes a scheduled run, whose id holds the time with ':' in it", async () => {
    const { client, connection, s3 } = session;
    const worker = await createCpuWorker({ connection, config, s3 });
    // As a schedule starts it: no run id (the workflow's id stands in), and here no tiles to map.
    const scheduled = "sched-RI-windows-crop-tiny-2026-06-01T06:00:00Z";
    const { stdout, code, stderr } = await worker.runUntil(async () => {
      await client.workflow.execute("runWorkflow", {
        taskQueue: config.taskQueues.cpu,
        workflowId: scheduled,
        args: [
          {
            region: { kind: "state", state: "RI" },
            year: 2022,
            model: "crop-tiny",
            chip: { size: 224, stride: 224 },
            inferenceQueue: config.taskQueues.inference,
            tiles: [],
          },
        ],
      });
      return cli(["resume", scheduled, "--wait", "--json"], configEnv(config));
    });
    expect(code, stderr).toBe(0);
    const [started, summary] = stdout
      .trim()
      .split("\n{")
      .map((part, i) => JSON.parse(i ? `{${part}` : part)) as [{ runId: string }, RunSummary];
    expect(started.runId).toMatch(/^sched-RI-windows-crop-tiny-2026-06-01T06-00-00Z\.resume-\d{8}T\d{6}Z$/);
    expect(summary).toMatchObject({
      runId: started.runId,
      outputPrefix: "runs/sched-RI-windows-crop-tiny-2026-06-01T06-00-00Z/",
      total: 0,
      failed: [],
    });
  });
});
