import type { RunSummary } from "../../lib/contracts/run.summary.ts";
import { runWorkflow } from "../../workflows/index.ts";
/**
 * Tile-level overlap in a state-wide run: the CPU pool (label grid, granule choice, staging, maps)
 * and the inference pool (predictTile) are separate queues, and with several tiles in flight the
 * CPU pool stages the next tiles while the inference pool predicts. Runs the synthetic Rhode Island
 * world (6 tiles) twice on a private stack, with both pools in this process: first one tile at a
 * time (the reference: no overlap possible), then `--in-flight` tiles. Each queue's slot
 * utilisation over the run comes from the workflows' own histories (every activity's start and
 * end as the server recorded them), drawn as a timeline.
 *
 *   npx tsx scripts/bench/run.bench.ts [--scale small|full] [--in-flight 3] [--json <file>]
 */

import { parseArgs } from "node:util";
import type { Client } from "@temporalio/client";
import type { Config } from "../../lib/config/config.schema.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { connectWorker } from "../../lib/temporal/worker.connection.ts";
import { bundleWorkflows, createCpuWorker, createInferenceWorker } from "../../workers/worker.factory.ts";
import { planWorld } from "../synth/world.plan.ts";
import { writeWorld } from "../synth/world.writer.ts";
import { type BenchFigure, JsonOption, writeBenchRecord } from "./bench.record.ts";
import { withPrivateStack } from "./bench.stack.ts";

const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "small" },
    "in-flight": { type: "string", default: "3" },
    ...JsonOption,
  },
});
const scale = values.scale === "full" ? "full" : "small";
const inFlight = Number(values["in-flight"]);

interface Interval {
  queue: string;
  activity: string;
  start: number;
  end: number;
}

const millis = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

/** Every activity of a workflow and of its children, from the histories the server keeps. */
async function activityIntervals(client: Client, workflowId: string): Promise<Interval[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, { queue: string; activity: string }>();
  const started = new Map<string, number>();
  const out: Interval[] = [];
  const children: string[] = [];
  for (const event of history.events ?? []) {
    const id = String(event.eventId);
    const s = event.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(id, { queue: s.taskQueue?.name ?? "", activity: s.activityType?.name ?? "" });
    const st = event.activityTaskStartedEventAttributes;
    if (st) started.set(String(st.scheduledEventId), millis(event.eventTime));
    const done =
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes;
    if (done) {
      const key = String(done.scheduledEventId);
      const what = scheduled.get(key);
      const start = started.get(key);
      if (what && start !== undefined) out.push({ ...what, start, end: millis(event.eventTime) });
    }
    const child = event.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId;
    if (child) children.push(child);
  }
  for (const child of children) out.push(...(await activityIntervals(client, child)));
  return out;
}

/** Mean busy slots of a queue in each of `bins` equal slices of [from, to]. */
function busySlots(intervals: Interval[], from: number, to: number, bins: number): number[] {
  const width = (to - from) / bins;
  return Array.from({ length: bins }, (_, b) => {
    const lo = from + b * width;
    const hi = lo + width;
    const busy = intervals.reduce((s, i) => s + Math.max(0, Math.min(hi, i.end) - Math.max(lo, i.start)), 0);
    return busy / width;
  });
}

/** Share of [from, to] during which every one of the interval sets has at least one activity running. */
function allBusyShare(sets: Interval[][], from: number, to: number): number {
  const step = (to - from) / 2000;
  let both = 0;
  for (let t = from + step / 2; t < to; t += step)
    if (sets.every((set) => set.some((i) => i.start <= t && t < i.end))) both++;
  return both / 2000;
}

async function mapState(client: Client, config: Config, runId: string, maxTilesInFlight: number) {
  const started = Date.now();
  const summary = (await client.workflow.execute(runWorkflow, {
    taskQueue: config.taskQueues.cpu,
    workflowId: runId,
    args: [
      {
        runId,
        region: { kind: "state", state: "RI" },
        year: 2022,
        model: "crop-tiny",
        chip: { size: 224, stride: 112 },
        maxTilesInFlight,
        retryRounds: 0,
        inferenceQueue: config.taskQueues.inference,
      },
    ],
  })) as RunSummary;
  const seconds = (Date.now() - started) / 1000;
  if (summary.done !== summary.total)
    throw new Error(`run ${runId}: ${summary.done} of ${summary.total} tiles done`);
  const intervals = await activityIntervals(client, runId);
  const from = Math.min(...intervals.map((i) => i.start));
  const to = Math.max(...intervals.map((i) => i.end));
  return { seconds, tiles: summary.total, intervals, from, to };
}

const figures: BenchFigure[] = [];
const slots = await withPrivateStack(async (config, s3) => {
  const slots = { cpu: config.workers.cpuConcurrency, inference: config.workers.inferenceConcurrency };
  console.log(`writing the synthetic Rhode Island world (${scale}) ...`);
  await writeWorld(
    planWorld({ state: "RI", year: 2022, scale, seed: 4, season: { start: "04-01", end: "10-31" } }),
    { s3, config },
  );
  const connection = await connectWorker(config);
  const client = await connectClient(config);
  const bundle = await bundleWorkflows();
  const cpu = await createCpuWorker({ connection, config, s3, bundle });
  const inference = await createInferenceWorker({ connection, config, s3 });
  const [serial, overlapped] = await cpu.runUntil(
    inference.runUntil(async () => [
      await mapState(client, config, "bench-serial", 1),
      await mapState(client, config, "bench-overlap", inFlight),
    ]),
  );
  await client.connection.close();
  await connection.close();

  for (const [label, run] of [
    ["1 tile in flight", serial],
    [`${inFlight} tiles in flight`, overlapped],
  ] as const) {
    const cpuIntervals = run.intervals.filter((i) => i.queue === config.taskQueues.cpu);
    const infIntervals = run.intervals.filter((i) => i.queue === config.taskQueues.inference);
    const span = run.to - run.from;
    const use = (set: Interval[], n: number) => set.reduce((s, i) => s + i.end - i.start, 0) / (span * n);
    const bins = 30;
    const bar = (series: number[], n: number) =>
      series.map((v) => " ▁▂▃▄▅▆▇█"[Math.min(8, Math.round((v / n) * 8))]).join("");
    console.log(`\n${label}: ${run.tiles} tiles in ${run.seconds.toFixed(1)} s`);
    console.log(
      `  cpu       (${slots.cpu} slots) |${bar(busySlots(cpuIntervals, run.from, run.to, bins), slots.cpu)}| ${(use(cpuIntervals, slots.cpu) * 100).toFixed(0)} %`,
    );
    console.log(
      `  inference (${slots.inference} slot)  |${bar(busySlots(infIntervals, run.from, run.to, bins), slots.inference)}| ${(use(infIntervals, slots.inference) * 100).toFixed(0)} %`,
    );
    const both = allBusyShare([cpuIntervals, infIntervals], run.from, run.to);
    console.log(`  both pools busy ${(both * 100).toFixed(0)} % of the run`);
    figures.push(
      { name: `cpu slot utilisation, ${label}`, value: use(cpuIntervals, slots.cpu) * 100, unit: "%" },
      {
        name: `inference slot utilisation, ${label}`,
        value: use(infIntervals, slots.inference) * 100,
        unit: "%",
      },
      { name: `both pools busy, ${label}`, value: both * 100, unit: "% of run" },
    );
  }
  figures.push({
    name: `run of ${overlapped.tiles} tiles, ${inFlight} in flight`,
    value: overlapped.seconds,
    unit: "s",
    reference: { name: "the same run, 1 tile in flight", value: serial.seconds, unit: "s" },
    ratio: serial.seconds / overlapped.seconds,
  });
  console.log(
    `\nspeed-up of ${inFlight} tiles in flight over 1: ${(serial.seconds / overlapped.seconds).toFixed(2)}x`,
  );
  return slots;
});
await writeBenchRecord(values.json, {
  bench: "run.bench.ts",
  setup: `synthetic Rhode Island (${scale}), 6 tiles, crop-tiny, one cpu worker (${slots.cpu} slots) and one inference worker (${slots.inference}) in one process`,
  figures,
});
