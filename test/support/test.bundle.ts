import type { WorkflowBundleOption } from "@temporalio/worker";
import { inject } from "vitest";

/**
 * The workflows bundled once for the whole test run (test/support/stack.global.ts): a bundle takes
 * seconds of CPU to make, and a file or spawned worker that made its own paid them each time.
 */
export function testBundle(): WorkflowBundleOption {
  return { codePath: inject("workflowBundle") };
}
