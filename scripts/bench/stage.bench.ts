/**
 * One full tile's staging (three granules, six bands and Fmask each, warped onto the CDL grid and
 * written as a stack), on a stack of its own, against an older checkout's stageTile run in this
 * same process on the same granules (`--reference <dir>`, e.g. the main checkout): seconds of
 * each, their ratio, and whether the two stacks are byte-identical. The run second finds the
 * process warm (its code compiled, its threads started), so compare both orders (`--first`). Each
 * run's CPU (this process's and the S3 server's) over the cores is the least it could take.
 *
 *   npx tsx scripts/bench/stage.bench.ts [--reference /work/main] [--first reference|this] [--tile 19TCG] [--json f]
 */

import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { MockActivityEnvironment } from "@temporalio/testing";
import { createStageActivities } from "../../activities/stage.activities.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import type { StagedTile } from "../../lib/contracts/stage.contract.ts";
import { NationalCdlGrid } from "../../lib/grid/crs.ts";
import { getBytes, ref } from "../../lib/storage/s3.objects.ts";
import { type BenchFigure, JsonOption, writeBenchRecord } from "./bench.record.ts";
import { startBenchWorld } from "./bench.world.ts";
import { cpuSecondsOf } from "./cpu.time.ts";

const { values } = parseArgs({
  options: {
    reference: { type: "string" },
    first: { type: "string", default: "reference" },
    tile: { type: "string", default: "19TCG" },
    ...JsonOption,
  },
});
if (values.first !== "reference" && values.first !== "this")
  throw new Error(`--first must be 'reference' or 'this', not '${values.first}'`);
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
    const cpu = process.cpuUsage();
    const faults = process.resourceUsage().minorPageFault;
    const serverCpu = cpuSecondsOf(world.s3Pid);
    const staged = (await new MockActivityEnvironment().run(
      create(world.s3, config).stageTile,
      input,
    )) as StagedTile;
    const seconds = (performance.now() - started) / 1000;
    const { user, system } = process.cpuUsage(cpu);
    const cpuSeconds = (user + system) / 1e6;
    // Each a first touch of a fresh 4 KiB page: the kernel zeroes it, which costs CPU too.
    const freshMb = ((process.resourceUsage().minorPageFault - faults) * 4096) / 1e6;
    const serverCpuSeconds = cpuSecondsOf(world.s3Pid) - serverCpu;
    const bytes = await getBytes(world.s3, ref(config.storage.work, staged.stackKey));
    return {
      seconds,
      cpuSeconds,
      serverCpuSeconds,
      freshMb,
      staged,
      sha: createHash("sha256").update(bytes).digest("hex"),
    };
  };
  const variants: { label: string; create: Stage; name: string }[] = [
    { label: "this checkout", create: createStageActivities, name: "ours" },
  ];
  if (values.reference) {
    const old = (await import(join(values.reference, "activities", "stage.activities.ts"))) as {
      createStageActivities: Stage;
    };
    const reference = {
      label: `reference: ${values.reference}`,
      create: old.createStageActivities,
      name: "reference",
    };
    if (values.first === "reference") variants.unshift(reference);
    else variants.push(reference);
  }
  const runs: ({ label: string; name: string } & Awaited<ReturnType<typeof stage>>)[] = [];
  for (const { label, create, name } of variants) runs.push({ label, name, ...(await stage(create, name)) });
  const ours = runs.find((r) => r.name === "ours") as (typeof runs)[number];
  const { grid, validPixels, bytes } = ours.staged;
  console.log(
    `stage ${world.tileId}: ${world.granules.length} granules of 3660 x 3660 onto ${grid.width} x ${grid.height} (EPSG:5070), ${validPixels} valid px, stack ${(bytes / 1e6).toFixed(1)} MB`,
  );
  // With every core busy for the whole stage, it could take no less than its CPU over the cores.
  const cores = availableParallelism();
  const floorOf = (run: (typeof runs)[number]) => (run.cpuSeconds + run.serverCpuSeconds) / cores;
  for (const run of runs) {
    console.log(
      `  ${run.label.padEnd(32)} ${run.seconds.toFixed(1)} s  sha256 ${run.sha.slice(0, 16)}  CPU ${run.cpuSeconds.toFixed(1)} s + S3 server ${run.serverCpuSeconds.toFixed(1)} s, floor on ${cores} cores ${floorOf(run).toFixed(1)} s, ${run.freshMb.toFixed(0)} MB of fresh pages`,
    );
  }
  const figures: BenchFigure[] = [
    {
      name: "stage one full tile (3 granules of 3660 px)",
      value: ours.seconds,
      unit: "s",
      reference: { name: `its CPU over ${cores} cores (the floor)`, value: floorOf(ours), unit: "s" },
      ratio: floorOf(ours) / ours.seconds,
      target: "<= 12 s, or what bounds it",
    },
    { name: "stage one full tile: fresh pages", value: ours.freshMb, unit: "MB" },
  ];
  const reference = runs.find((r) => r.name === "reference");
  if (reference) {
    console.log(`  speed-up over the reference      ${(reference.seconds / ours.seconds).toFixed(2)}x`);
    console.log(`  stacks byte-identical            ${reference.sha === ours.sha ? "yes" : "NO"}`);
    if (reference.sha !== ours.sha) process.exitCode = 1;
    figures.push({
      name: "stage one full tile, this checkout",
      value: ours.seconds,
      unit: "s",
      reference: {
        name: `${values.reference} (stacks ${reference.sha === ours.sha ? "identical" : "DIFFER"})`,
        value: reference.seconds,
        unit: "s",
      },
      ratio: reference.seconds / ours.seconds,
    });
  }
  await writeBenchRecord(values.json, {
    bench: "stage.bench.ts",
    setup: `tile ${world.tileId}, ${world.granules.length} granules onto ${grid.width} x ${grid.height}, stack ${(bytes / 1e6).toFixed(0)} MB`,
    figures,
  });
} finally {
  await world.stop();
}
