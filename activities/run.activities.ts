import type { S3Client } from "@aws-sdk/client-s3";
import type { z } from "zod";
import type { Config } from "../lib/config/config.schema.ts";
import {
  PlanRunInputParser,
  RecordRunInputParser,
  type RunPlan,
  type RunStatus,
} from "../lib/contracts/run.contract.ts";
import { formatS3Url } from "../lib/core/s3.url.ts";
import { RegionError, resolveRegion } from "../lib/region/region.ts";
import { tilesForRegion } from "../lib/region/tile.cover.ts";
import { putBytes, putJson, ref } from "../lib/storage/s3.objects.ts";
import { nonRetryable, parseInput } from "./activity.failures.ts";

function csvField(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function createRunActivities(s3: S3Client, config: Config) {
  const { outputs } = config.storage;
  return {
    /** The region's tiles (or the chosen subset of them): the run's work list. */
    async planRun(raw: z.input<typeof PlanRunInputParser>): Promise<RunPlan> {
      const input = parseInput(PlanRunInputParser, raw, "planRun");
      let region: ReturnType<typeof resolveRegion>;
      try {
        region = resolveRegion(input.region);
      } catch (error) {
        if (error instanceof RegionError) throw nonRetryable("BadInput", error.message);
        throw error;
      }
      const all = tilesForRegion(region).map((t) => t.tileId);
      if (all.length === 0)
        throw nonRetryable(
          "BadInput",
          `${region.name} touches no HLS tile in the shipped tile table (US only)`,
        );
      if (!input.tiles) return { regionName: region.name, tileIds: all };
      const unknown = input.tiles.filter((t) => !all.includes(t));
      if (unknown.length)
        throw nonRetryable("BadInput", `tiles ${unknown.join(", ")} do not touch ${region.name}`);
      return { regionName: region.name, tileIds: input.tiles };
    },

    /** The run's input, resolved, as `run.json` under its output prefix (what `resume` starts from). */
    async recordRunStart(raw: z.input<typeof RecordRunInputParser>): Promise<string> {
      const { outputPrefix, run } = parseInput(RecordRunInputParser, raw, "recordRunStart");
      await putJson(s3, ref(outputs, `${outputPrefix}run.json`), run);
      return formatS3Url(outputs, `${outputPrefix}run.json`);
    },

    /** Every tile's outcome as `tiles.json` and `tiles.csv` under the run's output prefix. */
    async recordRunTiles(raw: {
      outputPrefix: string;
      status: RunStatus;
    }): Promise<{ json: string; csv: string }> {
      const { outputPrefix } = parseInput(
        RecordRunInputParser,
        { outputPrefix: raw.outputPrefix, run: {} },
        "recordRunTiles",
      );
      const { status } = raw;
      await putJson(s3, ref(outputs, `${outputPrefix}tiles.json`), status);
      const lines = [
        "tile,state,attempts,reason",
        ...status.tiles.map((t) =>
          [t.tileId, t.state, String(t.attempts), csvField(t.reason ?? "")].join(","),
        ),
      ];
      await putBytes(s3, ref(outputs, `${outputPrefix}tiles.csv`), `${lines.join("\n")}\n`, "text/csv");
      return {
        json: formatS3Url(outputs, `${outputPrefix}tiles.json`),
        csv: formatS3Url(outputs, `${outputPrefix}tiles.csv`),
      };
    },
  };
}
