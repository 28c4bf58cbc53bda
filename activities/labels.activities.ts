import type { S3Client } from "@aws-sdk/client-s3";
import { type LabelGrid, readLabelGrid } from "../lib/accuracy/label.grid.ts";
import { LabelRasterError } from "../lib/accuracy/label.window.ts";
import type { Config } from "../lib/config/config.schema.ts";
import { type LabelGridInput, LabelGridInputParser } from "../lib/contracts/storage.contract.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";

export function createLabelActivities(s3: S3Client, config: Config) {
  return {
    /** The year's label grid (lib/accuracy/label.grid.ts); a label raster off it fails for good. */
    async labelGrid(raw: LabelGridInput): Promise<LabelGrid> {
      const { year } = parseInput(LabelGridInputParser, raw, "labelGrid");
      try {
        return await readLabelGrid(s3, config.storage.cdl, year);
      } catch (error) {
        if (error instanceof LabelRasterError) throw nonRetryable("BadData", error.message);
        throw error;
      }
    },
  };
}
