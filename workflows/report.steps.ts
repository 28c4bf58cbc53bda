import type { PartDone } from "../activities/mosaic.activities.ts";
import type { RunReport } from "../activities/report.activities.ts";
import type { BuildReportInput } from "../lib/contracts/report.input.ts";
import type { ReportPlan } from "../lib/report/mosaic.parts.ts";

type Run = Omit<BuildReportInput, "model">;

/** The three report steps, as activities (a workflow's proxies) or called directly (tests, benchmarks). */
export interface ReportSteps {
  planReport(input: Run): Promise<ReportPlan>;
  buildMosaicPart(
    input: Omit<Run, "tiles"> & { sampleStep: number; part: ReportPlan["parts"][number] },
  ): Promise<PartDone>;
  assembleRunReport(input: BuildReportInput & { plan: ReportPlan }): Promise<RunReport>;
}

/**
 * A run's report: plan the parts, mosaic every part at once (one state each for a multi-state
 * region; the workers' slots bound how many run together), then assemble. Only keys and small
 * plans pass through the history, never pixels or matrices.
 */
export async function runReportSteps(steps: ReportSteps, input: BuildReportInput): Promise<RunReport> {
  const { model: _model, ...run } = input;
  const { tiles: _tiles, ...part } = run;
  const plan = await steps.planReport(run);
  await Promise.all(
    plan.parts.map((p) => steps.buildMosaicPart({ ...part, sampleStep: plan.sampleStep, part: p })),
  );
  return steps.assembleRunReport({ ...input, plan });
}
