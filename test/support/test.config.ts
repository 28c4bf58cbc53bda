import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { stackConfigOverrides } from "../../infra/dev/stack.ts";
import { loadConfig } from "../../lib/config/config.load.ts";
import type { Config } from "../../lib/config/config.schema.ts";

/**
 * Config pointing at the test run's stack, with storage prefixes and task queues of its own, so
 * test files running in parallel never see each other's objects or tasks.
 */
export function testConfig(name: string): Config {
  const id = `${name}-${randomBytes(4).toString("hex")}`;
  const overrides = stackConfigOverrides(inject("stack"));
  return loadConfig({
    env: {},
    overrides: {
      ...overrides,
      storage: {
        hls: `s3://crop-map-hls/${id}/`,
        cdl: `s3://crop-map-cdl/${id}/`,
        work: `s3://crop-map-work/${id}/`,
        outputs: `s3://crop-map-outputs/${id}/`,
      },
      taskQueues: { cpu: `${id}-cpu`, inference: `${id}-inference` },
    },
  });
}
