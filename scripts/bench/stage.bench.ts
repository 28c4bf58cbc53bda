/**
 * One full tile's staging (three granules, six bands and Fmask each, warped onto the CDL grid and
 * written as a stack), on a stack of its own, against an older checkout's stageTile run in this
 * same process on the same granules (`--reference <dir>`, e.g. the main checkout): seconds of
 * each, their ratio, and whether the two stacks are byte-identical.
 *
 *   npx tsx scripts/bench/stage.bench.ts [--reference /work/main] [--tile 19TCG]
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { MockActivityEnvironment } from "@temporalio/testing";
import { createStageActivities, type StagedTile } from "../../activities/stage.activities.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import { NationalCdlGrid } from "../../lib/grid/crs.ts";
import { getBytes, ref } from "../../lib/storage/s3.objects.ts";
import { startBenchWorld } from "./bench.world.ts";

const { values } = parseArgs({
  options: { reference: { type: "string" }, tile: { type: "string", default: "19TCG" } },
});
const world = await startBenchWorld(values.tile as string, 3);
type Stage = typeof createStageActivities;
try {
  const input = {
    tileId: world.tileId,
    year: 2022,
    granules: world.granules,
    labelGrid: {
      epsg: 5070,
      origin: [NationalCdlGrid.originX, NationalCdlGrid.originY] as [number, number],
      pixelSize: NationalCdlGrid.pixelSize,
    },
    chip: { size: 224, stride: 112 },
  };
  /** Stages into a work prefix of its own, so neither run finds the other's stack. */
  const stage = async (create: Stage, name: string) => {
    const work = { bucket: world.config.storage.work.bucket, prefix: `${name}/` };
    const config: Config = { ...world.config, storage: { ...world.config.storage, work } };
    const started = performance.now();
    const staged = (await new MockActivityEnvironment().run(
      create(world.s3, config).stageTile,
      input,
    )) as StagedTile;
    const seconds = (performance.now() - started) / 1000;
    const bytes = await getBytes(world.s3, ref(config.storage.work, staged.stackKey));
    return { seconds, staged, sha: createHash("sha256").update(bytes).digest("hex") };
  };
  const runs: { label: string; seconds: number; sha: string }[] = [];
  if (values.reference) {
    const old = (await import(join(values.reference, "activities", "stage.activities.ts"))) as {
      createStageActivities: Stage;
    };
    runs.push({
      label: `reference: ${values.reference}`,
      ...(await stage(old.createStageActivities, "reference")),
    });
  }
  const ours = await stage(createStageActivities, "ours");
  runs.push({ label: "this checkout", ...ours });
  const { grid, validPixels, bytes } = ours.staged;
  console.log(
    `stage ${world.tileId}: ${world.granules.length} granules of 3660 x 3660 onto ${grid.width} x ${grid.height} (EPSG:5070), ${validPixels} valid px, stack ${(bytes / 1e6).toFixed(1)} MB`,
  );
  for (const run of runs)
    console.log(`  ${run.label.padEnd(32)} ${run.seconds.toFixed(1)} s  sha256 ${run.sha.slice(0, 16)}`);
  const reference = runs.length > 1 ? runs[0] : undefined;
  if (reference) {
    console.log(`  speed-up over the reference      ${(reference.seconds / ours.seconds).toFixed(2)}x`);
    console.log(`  stacks byte-identical            ${reference.sha === ours.sha ? "yes" : "NO"}`);
    if (reference.sha !== ours.sha) process.exitCode = 1;
  }
} finally {
  await world.stop();
}
