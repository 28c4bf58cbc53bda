import { proxyActivities } from "@temporalio/workflow";
import type { BuildReportInput, RunReport } from "../activities/report.activities.ts";
import type { ReportActivities } from "../workers/activity.types.ts";

const { buildRunReport } = proxyActivities<ReportActivities>({
  startToCloseTimeout: "2h",
  heartbeatTimeout: "10m",
  retry: { initialInterval: "2s", backoffCoefficient: 2, maximumInterval: "1m", maximumAttempts: 6 },
});

/** Rebuilds a finished run's mosaic, accuracy rollups and report (`crop-map report`). */
export async function reportWorkflow(input: BuildReportInput): Promise<RunReport> {
  return buildRunReport(input);
}
