import { proxyActivities } from "@temporalio/workflow";
import type { RunReport } from "../activities/report.activities.ts";
import { type BuildReportInput, BuildReportInputParser } from "../lib/contracts/report.input.ts";
import type { MosaicActivities, ReportActivities } from "../workers/activity.types.ts";
import { runReportSteps } from "./report.steps.ts";
import { parseWorkflowInput } from "./workflow.input.ts";

const options = {
  retry: { initialInterval: "2s", backoffCoefficient: 2, maximumInterval: "1m", maximumAttempts: 6 },
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
