import { type Client, WorkflowFailedError, WorkflowNotFoundError } from "@temporalio/client";
import type { Command } from "commander";
import { loadConfig } from "../../lib/config/config.load.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import type { RunReport } from "../../lib/contracts/report.contract.ts";
import {
  type RunInput,
  RunInputParser,
  type RunStatus,
  runIdFromWorkflowId,
} from "../../lib/contracts/run.contract.ts";
import type { RunSummary } from "../../lib/contracts/run.summary.ts";
import { formatS3Url } from "../../lib/core/s3.url.ts";
import { createHlsArchive } from "../../lib/hls/archive.factory.ts";
import { progressLine } from "../../lib/progress.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getJson, ref } from "../../lib/storage/s3.objects.ts";
import { reportWorkflow, runWorkflow } from "../../workflows/index.ts";
import { uiLink, withClient } from "../cli.client.ts";
import { InputError, workFailed } from "../cli.errors.ts";
import { checkWorkflowInput } from "../cli.inputs.ts";
import { buildRunInput, type RunOptions, regionLabel } from "./run.input.builder.ts";
import { type RunStatusAnswer, readRunStatus } from "./run.status.ts";
import { addRegionOptions, type RegionOptions, regionSpecFrom } from "./tiles.command.ts";
import { addTilingOptions } from "./tiling.options.ts";

function stamp(date = new Date()): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

async function startRun(
  config: Config,
  input: RunInput,
  runId: string,
  wait: boolean | undefined,
  json: boolean | undefined,
) {
  const outputPrefix = input.outputPrefix ?? `runs/${runId}/`;
  const output = formatS3Url(config.storage.outputs, outputPrefix);
  await withClient(config, async (client) => {
    const handle = await client.workflow.start(runWorkflow, {
      taskQueue: config.taskQueues.cpu,
      workflowId: runId,
      args: [input],
    });
    if (json) console.log(JSON.stringify({ runId, output, ui: uiLink(config, runId) }));
    else console.log(`run ${runId}\n  output ${output}\n  ui     ${uiLink(config, runId)}`);
    if (!wait) return;
    const summary = (await handle.result().catch((error: unknown) => {
      throw error instanceof WorkflowFailedError
        ? workFailed(`run ${runId}`, error, uiLink(config, runId))
        : error;
    })) as RunSummary;
    if (json) console.log(JSON.stringify(summary, null, 2));
    else printSummary(summary);
    if (summary.failed.length) process.exitCode = 1;
  });
}

function printSummary(summary: RunSummary): void {
  console.log(
    `${summary.region} ${summary.year}: ${summary.done} of ${summary.total} tiles done, ${summary.failed.length} failed`,
  );
  for (const f of summary.failed) console.log(`  failed ${f.tileId}: ${f.reason}`);
  console.log(`  tiles    ${summary.tilesCsv}`);
  if (summary.report) printReport(summary.report);
}

/** A run's workflow description; an unknown run id is the user's mistake (exit 2). */
function describeRun(client: Client, runId: string) {
  return client.workflow
    .getHandle(runId)
    .describe()
    .catch((error) => {
      if (error instanceof WorkflowNotFoundError) throw new InputError(`no run '${runId}'`);
      throw error;
    });
}

function printReport(report: RunReport): void {
  const pct = (v: number | null) => (v === null ? "n/a" : `${(v * 100).toFixed(1)} %`);
  console.log(
    `  accuracy aAcc ${pct(report.aAcc)}, coverage ${pct(report.coverage)}: ${report.accuracyJson}`,
  );
  console.log(`  map      ${report.mosaic}`);
  if (report.overview) console.log(`  overview ${report.overview}`);
  console.log(`  report   ${report.reportHtml}`);
  console.log(`  STAC     ${report.stac}`);
}

export function printStatus(status: RunStatus): void {
  const total = status.tiles.length;
  const done = status.tiles.filter((t) => t.state === "done").length;
  const failed = status.tiles.filter((t) => t.state === "failed");
  const running = status.tiles.filter((t) => t.state === "running").length;
  const elapsed = (Date.now() - Date.parse(status.startedAt)) / 1000;
  console.log(
    `run ${status.runId}: ${status.region} ${status.year}, ${status.phase}${status.round ? ` (retry round ${status.round})` : ""}`,
  );
  console.log(
    progressLine(
      "tiles",
      done,
      total,
      status.phase === "finished" ? (status.finishedOffsets.at(-1) ?? elapsed) : elapsed,
      "done",
    ),
  );
  console.log(
    `  running ${running}, failed ${failed.length}, pending ${total - done - running - failed.length}`,
  );
  for (const t of failed) console.log(`  failed ${t.tileId} (attempts ${t.attempts}): ${t.reason ?? ""}`);
}

/** The status answer for a person: the tiles where they can be read, else what S3 shows and why. */
function printRunStatus(answer: RunStatusAnswer): void {
  if (answer.status) printStatus(answer.status);
  else console.log(`run ${answer.runId}`);
  const closed = answer.closedAt ? `, closed ${answer.closedAt}` : "";
  const from = { query: "its status query", "tiles.json": "its tiles.json", none: "nowhere" }[
    answer.tilesFrom
  ];
  console.log(
    `  workflow ${answer.workflowStatus.toLowerCase()} (started ${answer.startedAt}${closed}); tiles from ${from}`,
  );
  if (answer.unreadable) console.log(`  ${answer.unreadable}`);
  if (answer.finishedMaps)
    console.log(
      answer.finishedMaps.total
        ? `  in S3: ${answer.finishedMaps.done.length} of ${answer.finishedMaps.total} tiles have a finished map under ${answer.outputPrefix}tiles/`
        : `  in S3: no run.json under ${answer.outputPrefix} yet (a run records its tiles once it has planned them)`,
    );
  if (answer.summary?.report) printReport(answer.summary.report);
}

export function registerRunCommands(program: Command): void {
  addTilingOptions(
    addRegionOptions(
      program
        .command("run")
        .description("map a region for a season: every tile, failed tiles retried, outcomes recorded"),
    )
      .requiredOption("--year <year>", "season year, or 'current' / 'previous'")
      .option("--model <name>", "model manifest in models/", "crop-tiny"),
  )
    .option("--output-prefix <prefix>", "folder under the outputs location (default runs/<run-id>/)")
    .option("--max-tiles-in-flight <n>", "tile workflows at once (default 8)")
    .option("--retry-rounds <n>", "rounds of retrying failed tiles (default 2)")
    .option("--retry-delay <seconds>", "wait before each retry round (default 60)")
    .option("--wait", "wait for the run to finish and print its summary")
    .option("--json", "print JSON")
    .action(async (options: RegionOptions & RunOptions & { wait?: boolean; json?: boolean }) => {
      const config = loadConfig();
      const region = regionSpecFrom(options);
      const runId = `${regionLabel(region)}-${options.year}-${options.model}-${stamp()}`;
      const input = await buildRunInput(region, options, config, () => createHlsArchive(config), runId);
      await startRun(config, input, runId, options.wait, options.json);
    });

  program
    .command("status <run-id>")
    .description("a run's progress: tiles done, failed and total, rate, ETA; failed tiles with reasons")
    .option("--json", "print JSON")
    .action(async (runId: string, options: { json?: boolean }) => {
      const config = loadConfig();
      const s3 = createS3Client(config);
      try {
        const answer = await withClient(config, (client) => readRunStatus(client, s3, config, runId));
        if (options.json) console.log(JSON.stringify(answer, null, 2));
        else printRunStatus(answer);
      } finally {
        s3.destroy();
      }
    });

  program
    .command("resume <run-id>")
    .description(
      "run again over the same region and outputs: finished tiles are checked and kept, the rest mapped",
    )
    .option("--wait", "wait for the run to finish")
    .option("--json", "print JSON")
    .action(async (runId: string, options: { wait?: boolean; json?: boolean }) => {
      const config = loadConfig();
      const s3 = createS3Client(config);
      try {
        // Its output folder from its own input, not a query: a closed run answers none without a worker.
        const previous = await withClient(config, (client) => readRunStatus(client, s3, config, runId));
        if (previous.workflowStatus === "RUNNING") throw new InputError(`run '${runId}' is still running`);
        const recorded = RunInputParser.safeParse(
          await getJson(s3, ref(config.storage.outputs, `${previous.outputPrefix}run.json`)),
        );
        if (!recorded.success)
          throw new InputError(`run '${runId}' has no readable run.json under ${previous.outputPrefix}`);
        // A scheduled run's id carries the time (':' in it), which no run id may hold.
        const resumeId = `${runIdFromWorkflowId(runId)}.resume-${stamp()}`;
        // Same output prefix: every tile that finished there is found, checked and kept.
        const input: RunInput = checkWorkflowInput(
          RunInputParser,
          {
            ...recorded.data,
            runId: resumeId,
            outputPrefix: previous.outputPrefix,
            tiles: recorded.data.tiles,
          },
          `resume of run '${runId}'`,
        );
        await startRun(config, input, resumeId, options.wait, options.json);
      } finally {
        s3.destroy();
      }
    });

  program
    .command("report <run-id>")
    .description(
      "rebuild a finished run's mosaic, accuracy against the CDL (JSON, CSV) and report (Markdown, HTML)",
    )
    .option("--json", "print JSON")
    .action(async (runId: string, options: { json?: boolean }) => {
      const config = loadConfig();
      const s3 = createS3Client(config);
      try {
        await withClient(config, async (client) => {
          const description = await describeRun(client, runId);
          if (description.status.name !== "COMPLETED") {
            throw new InputError(
              `run '${runId}' has not finished (status ${description.status.name}); its report comes at its end`,
            );
          }
          const summary = (await client.workflow.getHandle(runId).result()) as RunSummary;
          const recorded = RunInputParser.safeParse(
            await getJson(s3, ref(config.storage.outputs, `${summary.outputPrefix}run.json`)),
          );
          if (!recorded.success)
            throw new InputError(`run '${runId}' has no readable run.json under ${summary.outputPrefix}`);
          const tiles = (recorded.data.tiles ?? []).filter(
            (t) => !summary.failed.some((f) => f.tileId === t),
          );
          const reportId = `${runId}.report-${stamp()}`;
          const report = await client.workflow
            .execute(reportWorkflow, {
              taskQueue: config.taskQueues.cpu,
              workflowId: reportId,
              args: [
                {
                  runId,
                  region: recorded.data.region,
                  year: summary.year,
                  model: recorded.data.model,
                  outputPrefix: summary.outputPrefix,
                  tiles,
                },
              ],
            })
            .catch((error: unknown) => {
              throw error instanceof WorkflowFailedError
                ? workFailed(`report of run ${runId}`, error, uiLink(config, reportId))
                : error;
            });
          if (options.json) console.log(JSON.stringify(report, null, 2));
          else printReport(report);
        });
      } finally {
        s3.destroy();
      }
    });

  program
    .command("cancel <run-id>")
    .description("cancel a run and its tiles")
    .action(async (runId: string) => {
      const config = loadConfig();
      await withClient(config, async (client) => {
        await client.workflow
          .getHandle(runId)
          .cancel()
          .catch((error) => {
            if (error instanceof WorkflowNotFoundError) throw new InputError(`no run '${runId}'`);
            throw error;
          });
        console.log(`run ${runId}: cancellation requested`);
      });
    });
}
