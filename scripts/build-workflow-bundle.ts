// Writes the workflow bundle once, at image build, so workers start without bundling (seconds of
// webpack on every pod start). Workers load it when CROP_MAP_WORKFLOW_BUNDLE names the file.
// Usage: npx tsx scripts/build-workflow-bundle.ts [out-file]   (default dist/workflow-bundle.js)
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { bundleWorkflowCode } from "@temporalio/worker";
import { WorkflowsPath } from "../workers/worker.factory.ts";

const out = resolve(process.argv[2] ?? "dist/workflow-bundle.js");
const { code } = await bundleWorkflowCode({ workflowsPath: WorkflowsPath });
await mkdir(dirname(out), { recursive: true });
await writeFile(out, code);
console.log(`workflow bundle: ${out} (${(code.length / 2 ** 20).toFixed(1)} MiB)`);
