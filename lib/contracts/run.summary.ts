import type { RunReport } from "./report.contract.ts";

/** What a finished run workflow returns. */
export interface RunSummary {
  runId: string;
  /** The run's folder under the outputs location. */
  outputPrefix: string;
  region: string;
  year: number;
  total: number;
  done: number;
  failed: { tileId: string; reason: string }[];
  tilesJson: string;
  tilesCsv: string;
  /** The mosaic, accuracy and report, when any tile finished. */
  report?: RunReport;
}
