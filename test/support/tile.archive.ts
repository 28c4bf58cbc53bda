import type { S3Client } from "@aws-sdk/client-s3";
import { MockActivityEnvironment } from "@temporalio/testing";
import { createGranuleActivities } from "../../activities/granules.activities.ts";
import { createLabelActivities } from "../../activities/labels.activities.ts";
import { createStageActivities } from "../../activities/stage.activities.ts";
import type { LabelGrid } from "../../lib/accuracy/label.grid.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import type { GranuleSelection } from "../../lib/contracts/granule.contract.ts";
import { DefaultSeasonWindows } from "../../lib/contracts/season.windows.ts";
import type { StagedTile } from "../../lib/contracts/stage.contract.ts";
import type { HlsArchive } from "../../lib/hls/hls.archive.ts";
import { loadModelManifest } from "../../lib/model/model.manifest.ts";
import { getBytes, ref } from "../../lib/storage/s3.objects.ts";
import { planWorld } from "../../scripts/synth/world.plan.ts";
import { writeTestWorld } from "./test.world.ts";

export const WorldYear = 2022;

/** The Rhode Island demo world at small scale, but only one tile of it: a few seconds to write. */
export async function writeOneTileWorld(s3: S3Client, config: Config, tileId: string): Promise<void> {
  const plan = planWorld({
    state: "RI",
    year: WorldYear,
    scale: "small",
    seed: 3,
    season: { start: "04-01", end: "10-31" },
  });
  await writeTestWorld(
    { ...plan, tiles: plan.tiles.filter((t) => t.tile.tileId === tileId) },
    { s3, config },
  );
}

export async function labelGridOf(s3: S3Client, config: Config): Promise<LabelGrid> {
  const { labelGrid } = createLabelActivities(s3, config);
  const grid: LabelGrid = await new MockActivityEnvironment().run(labelGrid, { year: WorldYear });
  return grid;
}

export interface StagedThrough {
  selection: GranuleSelection;
  staged: StagedTile;
  /** The stack's bytes as written to the work bucket. */
  stack: Buffer;
}

/**
 * The real selectGranules and stageTile activities reading the tile through `archive`, staging
 * into a work prefix of its own (`round`), so no run finds another's stack and skips its reads.
 */
export async function selectAndStage(
  s3: S3Client,
  config: Config,
  archive: HlsArchive,
  tileId: string,
  grid: LabelGrid,
  round: string,
): Promise<StagedThrough> {
  const work = { ...config.storage.work, prefix: `${config.storage.work.prefix}${round}/` };
  const roundConfig = { ...config, storage: { ...config.storage, work } };
  const env = new MockActivityEnvironment();
  const selection: GranuleSelection = await env.run(
    createGranuleActivities(s3, roundConfig, archive).selectGranules,
    {
      tileId,
      year: WorldYear,
      windows: DefaultSeasonWindows,
    },
  );
  const staged: StagedTile = await env.run(createStageActivities(s3, roundConfig, archive).stageTile, {
    tileId,
    year: WorldYear,
    granules: selection.granules.map((g) => g.id),
    labelGrid: { epsg: grid.epsg, origin: grid.origin, pixelSize: grid.pixelSize },
    chip: (await loadModelManifest("crop-tiny")).chip,
  });
  return { selection, staged, stack: Buffer.from(await getBytes(s3, ref(work, staged.stackKey))) };
}
