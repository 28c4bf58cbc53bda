import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { type StackState, startStack, stopStack } from "../../infra/dev/stack.ts";
import { loadConfig } from "../../lib/config/config.load.ts";

declare module "vitest" {
  export interface ProvidedContext {
    stack: StackState;
  }
}

/** Starts a private Temporal + S3 stack on free ports for the test run, and removes it after. */
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), "crop-map-test-"));
  const state = await startStack({ dir, config: loadConfig({ env: {} }), ports: "free", detached: false });
  project.provide("stack", state);
  return async () => {
    await stopStack(state);
    await rm(dir, { recursive: true, force: true });
  };
}
