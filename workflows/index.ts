// The workflow bundle's entry point: every workflow a worker runs is exported here.
export { stackCheckWorkflow } from "./stack.check.workflow.ts";
export { tileWorkflow } from "./tile.workflow.ts";
