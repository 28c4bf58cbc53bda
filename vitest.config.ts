import { defineConfig } from "vitest/config";

/**
 * Files that time heartbeats, kill workers or servers, or wait on credentials' lifetimes: run one at
 * a time, after the rest, so that no other file's load on this 2-core machine stretches a heartbeat
 * past its timeout.
 */
const Serial = [
  "test/integration/archive.credentials.test.ts",
  "test/integration/cluster.containers.test.ts",
  "test/integration/inference.thread.test.ts",
  "test/integration/pools.failover.test.ts",
  "test/integration/process.hygiene.test.ts",
  "test/integration/run.restart.test.ts",
  "test/integration/run.status.test.ts",
  "test/integration/run.workflow.test.ts",
  "test/integration/series.tile.test.ts",
  "test/integration/tile.pipeline.test.ts",
];

const shared = {
  // One local stack (Temporal + S3 on free ports) for the whole run; files isolate by prefix and queue.
  globalSetup: ["test/support/stack.global.ts"],
  testTimeout: 120_000,
  hookTimeout: 180_000,
  pool: "forks" as const,
};

export default defineConfig({
  test: {
    projects: [
      {
        // The rest two at a time: their work is CPU in this process and in the servers, and waits
        // on child processes, which a second file fills.
        test: {
          ...shared,
          name: "parallel",
          include: ["test/**/*.test.ts"],
          exclude: Serial,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: "serial",
          include: Serial,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
