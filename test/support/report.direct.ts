import type { S3Client } from "@aws-sdk/client-s3";
import { MockActivityEnvironment } from "@temporalio/testing";
import { createMosaicActivities } from "../../activities/mosaic.activities.ts";
import { createReportActivities } from "../../activities/report.activities.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import type { ReportSteps } from "../../workflows/report.steps.ts";

/**
 * The report's real activities, run in this process without a worker (tests, benchmarks): each in
 * an activity context of its own, so heartbeats have somewhere to go.
 */
export function directReportSteps(s3: S3Client, config: Config): ReportSteps {
  const mosaic = createMosaicActivities(s3, config);
  const reports = createReportActivities(s3, config);
  const run =
    <I, O>(activity: (input: I) => Promise<O>) =>
    (input: I) =>
      new MockActivityEnvironment().run(activity, input) as Promise<O>;
  return {
    planReport: run(mosaic.planReport),
    buildMosaicPart: run(mosaic.buildMosaicPart),
    assembleRunReport: run(reports.assembleRunReport),
  };
}
