import { proxyActivities } from "@temporalio/workflow";
import type { MosaicActivities, ReportActivities } from "../activities/activity.types.ts";
import {
  type BuildReportInput,
  BuildReportInputParser,
  type RunReport,
} from "../lib/contracts/report.contract.ts";
import { ActivityRetry } from "../lib/contracts/retry.policies.ts";
import { runReportSteps } from "./report.steps.ts";
import { parseWorkflowInput } from "./workflow.input.ts";

const options = {
  retry: ActivityRetry,
} as const;
const { planReport } = proxyActivities<MosaicActivities>({ ...options, startToCloseTimeout: "10m" });
// A state's mosaic heartbeats every strip; a lost worker is noticed within minutes, not hours.
const { buildMosaicPart } = proxyActivities<MosaicActivities>({
  ...options,
  startToCloseTimeout: "2h",
  heartbeatTimeout: "10m",
});
const { assembleRunReport } = proxyActivities<ReportActivities>({ ...options, startToCloseTimeout: "1h" });

/**
 * A run's mosaic, accuracy rollups and report: at the end of every run (a child of it) and for
 * `crop-map report`. One mosaic activity per state of the region, in parallel, then the assembly.
 */
export async function reportWorkflow(raw: BuildReportInput): Promise<RunReport> {
  const input = parseWorkflowInput(BuildReportInputParser, raw, "report");
  return runReportSteps({ planReport, buildMosaicPart, assembleRunReport }, input);
}
