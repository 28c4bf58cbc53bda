/**
 * The readers of files we did not write, fuzzed for as long as asked: the TIFF header, directory
 * and tiles, the zip directory and entries, cmr.xml records, each on fresh mutations of an honest
 * seed (test/support/readers.fuzz.ts, which the property tests in npm test run 200 times each).
 * Prints a progress line every 10 s and a summary; exits 1 on any failure that is not the reader's
 * typed refusal, or any run that grew ArrayBuffer memory past the stated bound, printing the
 * input's mutations to replay it.
 *
 *   npx tsx scripts/fuzz/readers.soak.ts --minutes 10 [--seed 7]
 */
import { parseArgs } from "node:util";
import fc from "fast-check";
import {
  AllocationBound,
  cmrSeed,
  edit,
  mutate,
  mutations,
  type Outcome,
  readCmr,
  readTiff,
  readZip,
  tiffSeed,
  xmlEdits,
  zipSeed,
} from "../../test/support/readers.fuzz.ts";

const { values } = parseArgs({
  options: { minutes: { type: "string", default: "1" }, seed: { type: "string" } },
});
const minutes = Number(values.minutes);
if (!(minutes > 0 && minutes <= 24 * 60)) {
  console.error(`readers.soak: --minutes '${values.minutes}': expected minutes from 0 to 1440`);
  process.exit(2);
}
let seed = values.seed === undefined ? Date.now() % 0x7fffffff : Number(values.seed);

interface Target {
  name: string;
  /** A batch of inputs drawn with `seed`, each with how to show it for a replay. */
  draw(seed: number): { input: unknown; run: () => Promise<Outcome> }[];
}

const tiff = await tiffSeed();
const zip = zipSeed();
const Batch = 50;
const targets: Target[] = [
  {
    name: "tiff",
    draw: (s) =>
      fc.sample(mutations(tiff.length, 400), { numRuns: Batch, seed: s }).map((m) => ({
        input: m,
        run: () => readTiff(mutate(tiff, m)),
      })),
  },
  {
    name: "zip",
    draw: (s) =>
      fc.sample(mutations(zip.length, zip.length), { numRuns: Batch, seed: s }).map((m) => ({
        input: m,
        run: () => readZip(mutate(zip, m)),
      })),
  },
  {
    name: "cmr.xml",
    draw: (s) =>
      fc.sample(xmlEdits(cmrSeed.length), { numRuns: Batch, seed: s }).map((e) => ({
        input: e,
        run: () => readCmr(edit(cmrSeed, e)),
      })),
  },
];

const started = Date.now();
const deadline = started + minutes * 60_000;
const counts = new Map<
  string,
  { runs: number; read: number; refused: Map<string, number>; maxGrew: number }
>();
const failures: string[] = [];
let lastProgress = started;

console.log(
  `readers.soak: ${minutes} min from seed ${seed}; allocation bound ${AllocationBound >> 20} MiB a run`,
);
while (Date.now() < deadline && failures.length < 10) {
  for (const target of targets) {
    const count = counts.get(target.name) ?? { runs: 0, read: 0, refused: new Map(), maxGrew: 0 };
    counts.set(target.name, count);
    for (const { input, run } of target.draw(seed)) {
      const outcome = await run();
      count.runs++;
      count.maxGrew = Math.max(count.maxGrew, outcome.grew);
      if (outcome.kind === "read") count.read++;
      if (outcome.kind === "refused")
        count.refused.set(outcome.name, (count.refused.get(outcome.name) ?? 0) + 1);
      const replay = `${target.name} seed ${seed}: ${JSON.stringify(input)}`;
      if (outcome.kind === "untyped")
        failures.push(
          `${replay}\n  untyped failure: ${(outcome.error as Error)?.stack ?? String(outcome.error)}`,
        );
      if (outcome.grew > AllocationBound)
        failures.push(`${replay}\n  grew ArrayBuffer memory by ${(outcome.grew / 2 ** 20).toFixed(1)} MiB`);
    }
  }
  seed = (seed + 1) % 0x7fffffff;
  if (Date.now() - lastProgress >= 10_000) {
    lastProgress = Date.now();
    const runs = [...counts].map(([name, c]) => `${name} ${c.runs}`).join(", ");
    console.log(`  ${((Date.now() - started) / 1000).toFixed(0)} s: ${runs}; ${failures.length} failure(s)`);
  }
}

console.log(`readers.soak: ${((Date.now() - started) / 1000).toFixed(0)} s, last seed ${seed}`);
for (const [name, c] of counts) {
  const refused = [...c.refused].map(([error, n]) => `${n} ${error}`).join(", ") || "none";
  console.log(
    `  ${name.padEnd(8)} ${c.runs} runs: ${c.read} read, refused ${refused}; most ArrayBuffer growth ${(c.maxGrew / 2 ** 20).toFixed(1)} MiB`,
  );
}
for (const failure of failures) console.error(`FAIL ${failure}`);
console.log(
  failures.length === 0 ? "no untyped failure, no run past the bound" : `${failures.length} failure(s)`,
);
// The raster threads keep the process alive: exit with the verdict.
process.exit(failures.length === 0 ? 0 : 1);
