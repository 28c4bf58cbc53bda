import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../infra/dev/ports.ts";
import { configEnv, spawnWorker } from "../support/child.worker.ts";
import { cli } from "../support/cli.run.ts";
import { testConfig } from "../support/test.config.ts";

/** Nothing listens on these: a stack that is down. */
let down: NodeJS.ProcessEnv;

beforeAll(async () => {
  const [temporal, s3] = [await freePort(), await freePort()];
  down = {
    CROP_MAP_TEMPORAL_ADDRESS: `127.0.0.1:${temporal}`,
    CROP_MAP_S3_ENDPOINT: `http://127.0.0.1:${s3}`,
  };
});

describe("with the stack down, what can be checked without a server is checked first", () => {
  it.each([
    [["run", "--state", "RI", "--year", "2022", "--max-tiles-in-flight", "0"], "--max-tiles-in-flight '0'"],
    [["run", "--state", "RI", "--year", "2022", "--model", "nope"], "nope"],
    [["run", "--state", "RI", "--year", "1999"], "--year 1999"],
    [["schedule", "create", "--state", "RI", "--kind", "cron", "--cron", "bad cron"], "--cron 'bad cron'"],
    [["schedule", "create", "--state", "RI", "--kind", "cron", "--cron", "0 25 * * *"], "hour '25'"],
  ])("exits 2 for %j", async (args, message) => {
    const { code, stderr } = await cli(args, down);
    expect(code, stderr).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr).not.toContain("ECONNREFUSED");
  });

  it("names an S3 server that does not answer, with how to start it (exit 3)", async () => {
    const { code, stderr } = await cli(["run", "--state", "RI", "--year", "2022"], down);
    expect(code, stderr).toBe(3);
    expect(stderr).toContain(`the S3 server at ${down.CROP_MAP_S3_ENDPOINT} does not answer`);
    expect(stderr).toContain("npx crop-map dev up");
  });

  it.each([[["status", "some-run"]], [["schedule", "list"]]])(
    "names a Temporal server that does not answer for %j (exit 3)",
    async (args) => {
      const { code, stderr } = await cli(args, down);
      expect(code, stderr).toBe(3);
      expect(stderr).toContain(`Temporal at ${down.CROP_MAP_TEMPORAL_ADDRESS} does not answer`);
      expect(stderr).toContain("npx crop-map dev up");
    },
  );
});

describe("failed work is explained where it is seen", () => {
  const config = testConfig("cli-fail");
  const env = configEnv(config);
  let worker: ReturnType<typeof spawnWorker>;

  beforeAll(() => {
    worker = spawnWorker("all", config);
  });
  afterAll(async () => {
    await worker?.kill();
  });

  it("prints a tile's root cause, its type and activity, and the UI link (exit 1)", async () => {
    // An empty archive: the tile has no granule at all.
    const { code, stderr } = await cli(["tile", "--tile", "19TCG", "--year", "2022", "--wait"], env);
    expect(code, worker.output()).toBe(1);
    expect(stderr).toContain(
      "crop-map: tile 19TCG 2022 failed: tile 19TCG 2022 has no usable granule in 04-01..05-31: no granule",
    );
    expect(stderr).toContain("[NoUsableGranule in selectGranules]");
    expect(stderr).toContain(
      `see ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/`,
    );
    expect(stderr).not.toContain("Workflow execution failed");
  });

  it("answers a run id that does not exist with exit 2", async () => {
    const { code, stderr } = await cli(["status", "no-such-run"], env);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe("crop-map: no run 'no-such-run'");
  });
});
