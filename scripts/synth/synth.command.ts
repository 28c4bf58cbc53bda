import type { Command } from "commander";
import { z } from "zod";
import { loadConfig } from "../../lib/config/config.load.ts";
import { describeIssues } from "../../lib/contracts/issue.lines.ts";
import { createProgress } from "../../lib/progress.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { DefaultThreads } from "../../lib/threads/task.pool.ts";
import { InputError } from "../cli.errors.ts";
import { parseNumberOption } from "../cli.inputs.ts";
import { planWorld } from "./world.plan.ts";
import { DefaultSeason, type SynthInput, SynthInputParser } from "./world.spec.ts";
import { WorldConflictError, writeWorld } from "./world.writer.ts";

interface SynthOptions {
  state: string;
  year: string;
  scale: string;
  seed: string;
  season: string;
  threads: string;
}

/** Task threads: a whole number from 1 up; the machine's cores by default. */
const ThreadsParser = z.number().int().min(1).max(256);

function parseInput(options: SynthOptions): SynthInput {
  const [start, end] = options.season.split(",");
  const raw = {
    state: options.state,
    // Whole numbers as typed; the range is the spec's to tell (HLS's first year, not the future).
    year: parseNumberOption(options.year, "year", z.number().int()),
    scale: options.scale,
    seed: parseNumberOption(options.seed, "seed", SynthInputParser.shape.seed),
    season: { start, end },
  };
  const parsed = SynthInputParser.safeParse(raw);
  if (!parsed.success) throw new InputError(`synth: ${describeIssues(parsed.error, raw)}`);
  return parsed.data;
}

export function registerSynthCommand(program: Command): void {
  program
    .command("synth")
    .description(
      "write a synthetic HLS v2.0 archive and CDL labels for a state to the configured S3 (the demo world)",
    )
    .requiredOption("--state <state>", "US state by postal code (RI) or name")
    .requiredOption("--year <year>", "season year (HLS v2.0: 2013 on; S30 from 2016)")
    .option(
      "--scale <scale>",
      "small (tiles cropped to 480 px, few granules: tests) or full (3660 px tiles)",
      "full",
    )
    .option("--seed <n>", "seed of the generated landscape and skies", "1")
    .option(
      "--season <MM-DD,MM-DD>",
      "first and last day of acquisitions",
      `${DefaultSeason.start},${DefaultSeason.end}`,
    )
    .option(
      "--threads <n>",
      "worker threads rendering and encoding granules (the bytes do not depend on it)",
      String(DefaultThreads),
    )
    .action(async (options: SynthOptions) => {
      const input = parseInput(options);
      const threads = parseNumberOption(options.threads, "threads", ThreadsParser);
      const plan = planWorld(input);
      const config = loadConfig();
      const s3 = createS3Client(config);
      const granules = plan.tiles.reduce((n, t) => n + t.acquisitions.length, 0);
      console.log(
        `synthetic world: ${plan.stateName} ${input.year}, ${input.scale} scale, seed ${input.seed}: ` +
          `${plan.tiles.length} tiles, ${granules} acquisitions, labels ${plan.cdl.width} x ${plan.cdl.height} px`,
      );
      const started = Date.now();
      const progress = createProgress("synth", granules + 1, "granules");
      try {
        const { manifest, url, skipped } = await writeWorld(plan, { s3, config, threads }, progress);
        progress.done();
        const written = manifest.tiles.reduce((n, t) => n + t.granules.length, 0);
        console.log(`labels    ${manifest.cdl.url}`);
        console.log(
          `imagery   ${plan.tiles.length} tiles, ${written} granules under s3://${config.storage.hls.bucket}/${config.storage.hls.prefix}`,
        );
        console.log(`manifest  ${url}`);
        console.log(
          `${manifest.objects} objects, ${(manifest.bytes / 1e6).toFixed(1)} MB` +
            `${skipped ? ` (${skipped} already there, kept)` : ""}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
      } catch (error) {
        if (error instanceof WorldConflictError) throw new InputError(error.message);
        throw error;
      } finally {
        s3.destroy();
      }
    });
}
