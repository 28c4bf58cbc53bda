import type { Config } from "../../lib/config/config.schema.ts";
import { HlsProducts } from "../../lib/contracts/granule.id.ts";
import { OutputPrefixParser } from "../../lib/contracts/output.prefix.ts";
import type { RegionSpec } from "../../lib/contracts/region.spec.ts";
import { type RunInput, RunInputParser } from "../../lib/contracts/run.contract.ts";
import type { HlsArchive } from "../../lib/hls/hls.archive.ts";
import { FirstHlsYear } from "../../lib/hls/hls.years.ts";
import { resolveRegion } from "../../lib/region/region.ts";
import { tilesForRegion } from "../../lib/region/tile.cover.ts";
import { InputError } from "../cli.errors.ts";
import { checkWorkflowInput, parseNumberOption } from "../cli.inputs.ts";
import { modelShape } from "./model.shape.ts";
import { type TilingOptions, tilingOf } from "./tiling.options.ts";

export interface RunOptions extends TilingOptions {
  year: string;
  model: string;
  outputPrefix?: string;
  maxTilesInFlight?: string;
  retryRounds?: string;
  retryDelay?: string;
}

function parseYear(text: string): RunInput["year"] {
  if (text === "current" || text === "previous") return text;
  if (!/^\d+$/.test(text)) throw new InputError(`--year '${text}': expected a year, 'current' or 'previous'`);
  const year = Number(text);
  if (year < FirstHlsYear || year > new Date().getUTCFullYear()) {
    throw new InputError(`--year ${year}: HLS v2.0 covers ${FirstHlsYear} to this year`);
  }
  return year;
}

/** A count option, bounded as the run workflow's own schema bounds its field. */
function countOption(text: string | undefined, option: string, field: CountField): number | undefined {
  return text === undefined
    ? undefined
    : parseNumberOption(text, option, RunInputParser.shape[field].unwrap());
}
type CountField = "maxTilesInFlight" | "retryRounds" | "retryDelaySeconds";

/** True when the archive holds any granule of the tile in the year (listed as workers list it). */
async function hasGranules(archive: HlsArchive, tileId: string, year: number): Promise<boolean> {
  for (const product of HlsProducts)
    if ((await archive.listGranules(product, tileId, year)).length > 0) return true;
  return false;
}

/**
 * Everything a run needs, checked before any workflow starts: the region, the year, the model, the
 * output prefix and counts, then that the archive has data for the year. Bad input throws
 * InputError (exit 2).
 */
export async function buildRunInput(
  region: RegionSpec,
  options: RunOptions,
  config: Config,
  /** Built only when a numbered year is checked against the archive. */
  archive: () => HlsArchive,
  runId?: string,
): Promise<RunInput> {
  const resolved = resolveRegion(region);
  const tiles = tilesForRegion(resolved);
  if (tiles.length === 0)
    throw new InputError(`${resolved.name} touches no HLS tile in the shipped tile table (US only)`);
  const year = parseYear(options.year);
  const shape = await modelShape(options.model, config);
  const tiling = tilingOf(options, shape, options.model);
  if (options.outputPrefix !== undefined) {
    const parsed = OutputPrefixParser.safeParse(options.outputPrefix);
    if (!parsed.success)
      throw new InputError(`--output-prefix '${options.outputPrefix}': ${parsed.error.issues[0]?.message}`);
  }
  const maxTilesInFlight = countOption(options.maxTilesInFlight, "max-tiles-in-flight", "maxTilesInFlight");
  const retryRounds = countOption(options.retryRounds, "retry-rounds", "retryRounds");
  const retryDelaySeconds = countOption(options.retryDelay, "retry-delay", "retryDelaySeconds");
  const input: RunInput = checkWorkflowInput(
    RunInputParser,
    {
      ...(runId ? { runId } : {}),
      region,
      year,
      model: options.model,
      ...shape,
      ...(tiling ? { tiling } : {}),
      ...(options.outputPrefix ? { outputPrefix: options.outputPrefix } : {}),
      ...(maxTilesInFlight !== undefined ? { maxTilesInFlight } : {}),
      ...(retryRounds !== undefined ? { retryRounds } : {}),
      ...(retryDelaySeconds !== undefined ? { retryDelaySeconds } : {}),
      inferenceQueue: config.taskQueues.inference,
    },
    "run",
  );
  // The archive last: everything a person can get wrong on the command line is told first.
  if (typeof year === "number") {
    const hls = archive();
    const tileId = (tiles[0] as (typeof tiles)[number]).tileId;
    if (!(await hasGranules(hls, tileId, year)))
      throw new InputError(`no HLS granules for ${year} in ${hls.url("")} (looked for tile ${tileId})`);
  }
  return input;
}

export function regionLabel(region: RegionSpec): string {
  if (region.kind === "state") return region.state.toUpperCase().replace(/[^A-Z0-9]/g, "");
  if (region.kind === "bbox") return "bbox";
  if (region.kind === "states")
    return (
      region.name
        .toUpperCase()
        .replace(/[^A-Z0-9]/g, "")
        .slice(0, 24) || "states"
    );
  return region.name.replace(/[^A-Za-z0-9]/g, "").slice(0, 24) || "region";
}
