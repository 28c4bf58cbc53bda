// The workflow bundle's entry point: every workflow a worker runs is exported here.
export { batchWorkflow } from "./batch.workflow.ts";
export { chipsWorkflow, chipTileWorkflow, seriesChipTileWorkflow } from "./chips.workflow.ts";
export { reportWorkflow } from "./report.workflow.ts";
export { runWorkflow } from "./run.workflow.ts";
export { stackCheckWorkflow } from "./stack.check.workflow.ts";
export { tileWorkflow } from "./tile.workflow.ts";
export { trainWorkflow } from "./train.workflow.ts";
