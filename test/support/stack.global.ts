import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { type StackState, startStack, stopStack } from "../../infra/dev/stack.ts";
import { loadConfig } from "../../lib/config/config.load.ts";
import { bundleWorkflows } from "../../workers/worker.factory.ts";

declare module "vitest" {
  export interface ProvidedContext {
    stack: StackState;
    /** The workflows' bundle, made once for the run: test/support/test.bundle.ts. */
    workflowBundle: string;
  }
}

/**
 * Starts a private Temporal + S3 stack on free ports for the test run, and removes it after; bundles
 * the workflows once, while the servers start, for every file and spawned worker.
 */
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), "crop-map-test-"));
  const bundlePath = join(dir, "workflow-bundle.js");
  const [state] = await Promise.all([
    startStack({ dir, config: loadConfig({ env: {} }), ports: "free", detached: false }),
    bundleWorkflows().then((bundle) => writeFile(bundlePath, bundle.code)),
  ]);
  project.provide("stack", state);
  project.provide("workflowBundle", bundlePath);
  return async () => {
    await stopStack(state);
    await rm(dir, { recursive: true, force: true });
  };
}
