/**
 * `npm run bench`: every benchmark script in scripts/bench that writes a bench record (it imports
 * bench.record.ts, so it takes `--json <file>`), one after another as child processes with small
 * sizes, against a private stack on free ports that holds the small synthetic Rhode Island world
 * (scripts that start their own stack ignore it). Writes bench/results.json (every record, each
 * step's wall time, exit code and peak RSS, and the machine) and bench/results.md (one table).
 *
 *   npm run bench [-- --only inference,mosaic] [-- --out bench]
 *
 * A script added later is picked up as it is; give it small arguments in SmallArgs.
 */
import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { z } from "zod";
import { type StackState, startStack, stopStack } from "../../infra/dev/stack.ts";
import { loadConfig } from "../../lib/config/config.load.ts";
import { BenchRecordParser } from "./bench.record.ts";

const BenchDir = dirname(fileURLToPath(import.meta.url));
/** A step that runs longer is stopped and reported as failed, so one hung script cannot hold the suite. */
const StepTimeoutMs = 20 * 60_000;
const Root = join(BenchDir, "..", "..");

/** Arguments that keep each script to a minute or two here; scripts not named run with their defaults. */
const SmallArgs: Record<string, string[]> = {
  "cog.read.bench.ts": ["--repeat", "1"],
  "inference.bench.ts": ["--px", "2240"],
  "mosaic.bench.ts": ["--sizes", "1x1,2x2"],
  "prithvi.bench.ts": ["--batches", "1"],
  "synth.bench.ts": ["--granules", "2"],
  "tile.bench.ts": ["--tile", "19TCG"],
  "train.bench.ts": ["--sizes", "reduced", "--chips", "16"],
};

const { values } = parseArgs({
  options: { only: { type: "string" }, out: { type: "string", default: join(Root, "bench") } },
});
const only = values.only
  ? new Set(values.only.split(",").map((n) => n.replace(/(\.bench\.ts)?$/, ".bench.ts")))
  : undefined;

const StepParser = z
  .object({
    script: z.string(),
    args: z.array(z.string()),
    exitCode: z.number().int(),
    seconds: z.number(),
    /** Peak RSS of the step's process tree (GNU time's %M: the largest process, not the sum). */
    peakRssMb: z.number().optional(),
    record: BenchRecordParser.optional(),
    /** The last lines of output of a step that wrote no record. */
    error: z.string().optional(),
  })
  .strict();
type Step = z.infer<typeof StepParser>;

/** Scripts that write a bench record: the others are listed as not converted. */
async function benchScripts(): Promise<{ runnable: string[]; other: string[] }> {
  const all = (await readdir(BenchDir)).filter((f) => f.endsWith(".bench.ts")).sort();
  const runnable: string[] = [];
  const other: string[] = [];
  for (const file of all) {
    if (only && !only.has(file)) continue;
    (readFileSync(join(BenchDir, file), "utf8").includes("./bench.record.ts") ? runnable : other).push(file);
  }
  return { runnable, other };
}

function stackEnv(state: StackState): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CROP_MAP_TEMPORAL_ADDRESS: state.temporal.address,
    CROP_MAP_TEMPORAL_NAMESPACE: state.temporal.namespace,
    CROP_MAP_TEMPORAL_UI_URL: state.temporal.uiUrl,
    CROP_MAP_S3_ENDPOINT: state.s3.endpoint,
  };
}

async function runStep(script: string, env: NodeJS.ProcessEnv, dir: string): Promise<Step> {
  const args = SmallArgs[script] ?? [];
  const json = join(dir, `${script}.json`);
  const rss = join(dir, `${script}.rss`);
  const started = performance.now();
  const tail: string[] = [];
  const exitCode = await new Promise<number>((resolve) => {
    const child = spawn(
      "/usr/bin/time",
      [
        "-f",
        "%M",
        "-o",
        rss,
        process.execPath,
        "--import",
        "tsx",
        join(BenchDir, script),
        ...args,
        "--json",
        json,
      ],
      // Its own process group, so that a step stopped for running too long ends with its children.
      { cwd: Root, env, stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    const keep = (chunk: Buffer) => {
      process.stdout.write(chunk);
      tail.push(...chunk.toString().split("\n"));
      tail.splice(0, Math.max(0, tail.length - 20));
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => process.kill(-(child.pid as number), "SIGTERM"), StepTimeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
  });
  const seconds = (performance.now() - started) / 1000;
  const peakKb = Number((await readFile(rss, "utf8").catch(() => "")).trim().split("\n").pop());
  const record = await readFile(json, "utf8").then(
    (text) => BenchRecordParser.parse(JSON.parse(text)),
    () => undefined,
  );
  return {
    script,
    args,
    exitCode,
    seconds,
    ...(Number.isFinite(peakKb) && peakKb > 0 ? { peakRssMb: peakKb / 1024 } : {}),
    ...(record
      ? { record }
      : {
          error: tail
            .filter((l) => l.trim())
            .slice(-8)
            .join("\n"),
        }),
  };
}

const fixed = (v: number) =>
  Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);

function markdown(steps: Step[], machine: Record<string, unknown>, other: string[]): string {
  const lines = [
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB, node ${machine.node}; load average ${machine.loadAverage} at start; commit ${machine.commit}; ${machine.date}.`,
    "",
    "| bench | figure | value | reference | reference value | ratio | target | peak RSS MB | step s |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const step of steps) {
    const rss = step.peakRssMb === undefined ? "" : step.peakRssMb.toFixed(0);
    const figures = step.record?.figures ?? [];
    if (!step.record || figures.length === 0) {
      const why = step.record?.skipped ?? `failed (exit ${step.exitCode})`;
      lines.push(`| ${step.script} | ${why} | | | | | | ${rss} | ${step.seconds.toFixed(0)} |`);
      continue;
    }
    for (const f of figures)
      lines.push(
        `| ${step.script} | ${f.name} | ${fixed(f.value)} ${f.unit} | ${f.reference?.name ?? ""} | ${f.reference ? `${fixed(f.reference.value)} ${f.reference.unit}` : ""} | ${f.ratio === undefined ? "" : f.ratio.toFixed(2)} | ${f.target ?? ""} | ${(f.peakRssMb ?? step.peakRssMb)?.toFixed(0) ?? ""} | ${step.seconds.toFixed(0)} |`,
      );
  }
  if (other.length > 0) lines.push("", `Not run (they write no bench record yet): ${other.join(", ")}.`);
  return `${lines.join("\n")}\n`;
}

const commit = (
  await promisify(execFile)("git", ["rev-parse", "--short", "HEAD"], { cwd: Root })
).stdout.trim();
const machine = {
  cpuModel: cpus()[0]?.model ?? "unknown",
  cores: availableParallelism(),
  memoryGb: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  loadAverage: loadavg()
    .map((l) => l.toFixed(1))
    .join(" "),
  commit,
  date: new Date().toISOString(),
};
const { runnable, other } = await benchScripts();
const dir = await mkdtemp(join(tmpdir(), "crop-map-benches-"));
const state = await startStack({ dir, config: loadConfig({ env: {} }), ports: "free", detached: false });
const steps: Step[] = [];
try {
  const env = stackEnv(state);
  // The world tile.bench maps (and any script that reads the configured archive): small scale.
  console.log("bench: writing the small synthetic Rhode Island world into the private stack ...");
  await promisify(execFile)(
    process.execPath,
    [join(Root, "bin", "crop-map.js"), "synth", "--state", "RI", "--year", "2022", "--scale", "small"],
    { cwd: Root, env, maxBuffer: 1 << 24 },
  );
  for (const script of runnable) {
    console.log(`bench: ${script} ${(SmallArgs[script] ?? []).join(" ")}`);
    steps.push(await runStep(script, env, dir));
  }
} finally {
  await stopStack(state);
  await rm(dir, { recursive: true, force: true });
}
await mkdir(values.out, { recursive: true });
await writeFile(join(values.out, "results.json"), `${JSON.stringify({ machine, steps }, null, 2)}\n`);
await writeFile(join(values.out, "results.md"), markdown(steps, machine, other));
console.log(markdown(steps, machine, other));
const failed = steps.filter((s) => s.exitCode !== 0);
if (failed.length > 0) {
  console.error(`bench: ${failed.map((s) => s.script).join(", ")} failed`);
  process.exitCode = 1;
}
