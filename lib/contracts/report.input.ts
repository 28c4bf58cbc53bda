import { z } from "zod";
import { OutputPrefixParser, SeasonYearParser } from "../pipeline/run.input.ts";
import { RegionSpecParser } from "../region/region.spec.ts";

/** What names a run to its report steps; workflow-safe, so the report workflow checks its input with it too. */
export const ReportRunFields = {
  runId: z.string().min(1),
  region: RegionSpecParser,
  year: SeasonYearParser,
  outputPrefix: OutputPrefixParser,
};

/** The report's plan step: the run and its finished tiles (CONUS has under 1000). */
export const PlanReportInputParser = z
  .object({ ...ReportRunFields, tiles: z.array(z.string()).max(2000) })
  .strict();

/** The report workflow's input: the plan step's and the model the tiles were mapped with. */
export const BuildReportInputParser = PlanReportInputParser.extend({ model: z.string() }).strict();
export type BuildReportInput = z.input<typeof BuildReportInputParser>;
