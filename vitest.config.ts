import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One local stack (Temporal + S3 on free ports) for the whole run; files isolate by prefix and queue.
    globalSetup: ["test/support/stack.global.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: "forks",
    // One file at a time: the integration files each start workers and time heartbeats in
    // seconds, and on a 2-core machine two of them at once starve each other.
    fileParallelism: false,
  },
});
