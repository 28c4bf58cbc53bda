import { type Client, ScheduleNotFoundError, ScheduleOverlapPolicy } from "@temporalio/client";
import type { Command } from "commander";
import { loadConfig } from "../../lib/config/config.load.ts";
import { DefaultSeasonWindows } from "../../lib/contracts/season.windows.ts";
import { createHlsArchive } from "../../lib/hls/archive.factory.ts";
import { runWorkflow } from "../../workflows/index.ts";
import { withClient } from "../cli.client.ts";
import { InputError } from "../cli.errors.ts";
import { cronProblem } from "./cron.check.ts";
import { buildRunInput, regionLabel } from "./run.input.builder.ts";
import { addRegionOptions, type RegionOptions, regionSpecFrom } from "./tiles.command.ts";

const Months = [
  "JANUARY",
  "FEBRUARY",
  "MARCH",
  "APRIL",
  "MAY",
  "JUNE",
  "JULY",
  "AUGUST",
  "SEPTEMBER",
  "OCTOBER",
  "NOVEMBER",
  "DECEMBER",
] as const;

/** The day after a MM-DD date, as a calendar month and day (windows end on the last day of a month or mid-month). */
function dayAfter(monthDay: string): { month: (typeof Months)[number]; dayOfMonth: number } {
  const [m, d] = monthDay.split("-").map(Number);
  const next = new Date(Date.UTC(2021, (m as number) - 1, (d as number) + 1));
  return { month: Months[next.getUTCMonth()] as (typeof Months)[number], dayOfMonth: next.getUTCDate() };
}

type Kind = "windows" | "cdl" | "cron";

interface CreateOptions extends RegionOptions {
  kind: string;
  cron?: string;
  model: string;
  id?: string;
}

export function registerScheduleCommand(program: Command): void {
  const schedule = program
    .command("schedule")
    .description(
      "seasonal reprocessing on Temporal Schedules (runs never overlap: a due run is skipped while one is going)",
    );

  addRegionOptions(schedule.command("create").description("schedule a region's runs"))
    .option(
      "--kind <kind>",
      "windows: after each season window closes (current season); cdl: 1 February, a full rerun of the previous season when its CDL is out; cron: --cron",
      "windows",
    )
    .option("--cron <expression>", "for --kind cron: when to run (UTC), e.g. '0 6 1 * *'")
    .option("--model <name>", "model manifest in models/", "crop-tiny")
    .option("--id <id>", "schedule id (default <region>-<kind>-<model>)")
    .action(async (options: CreateOptions) => {
      const kind = options.kind as Kind;
      if (!["windows", "cdl", "cron"].includes(kind))
        throw new InputError(`--kind '${options.kind}': expected windows, cdl or cron`);
      if (kind === "cron" && !options.cron) throw new InputError("--kind cron needs --cron '<expression>'");
      if (kind === "cron") {
        const wrong = cronProblem(options.cron as string);
        if (wrong) throw new InputError(`--cron '${options.cron}': ${wrong}`);
      }
      const config = loadConfig();
      const region = regionSpecFrom(options);
      const input = await buildRunInput(
        region,
        { year: kind === "cdl" ? "previous" : "current", model: options.model },
        config,
        () => createHlsArchive(config),
      );
      const scheduleId = options.id ?? `${regionLabel(region)}-${kind}-${options.model}`;
      const spec =
        kind === "cron"
          ? { cronExpressions: [options.cron as string] }
          : kind === "cdl"
            ? { calendars: [{ month: "FEBRUARY" as const, dayOfMonth: 1, hour: 6 }] }
            : { calendars: DefaultSeasonWindows.map((w) => ({ ...dayAfter(w.end), hour: 6 })) };
      await withClient(config, (client) =>
        client.schedule.create({
          scheduleId,
          spec,
          // The run id is the workflow id Temporal gives each action (the id plus the time).
          action: {
            type: "startWorkflow",
            workflowType: runWorkflow,
            taskQueue: config.taskQueues.cpu,
            workflowId: scheduleId,
            args: [input],
          },
          policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: "7 days" },
        }),
      );
      console.log(`schedule ${scheduleId} created`);
    });

  const withSchedule = (description: string, act: (id: string) => Promise<void>) =>
    schedule
      .command(`${description.split(" ")[0]} <schedule-id>`)
      .description(description.split(" ").slice(1).join(" "))
      .action(async (id: string) => {
        try {
          await act(id);
        } catch (error) {
          if (error instanceof ScheduleNotFoundError) throw new InputError(`no schedule '${id}'`);
          throw error;
        }
      });

  const onSchedule = <T>(work: (c: Client) => Promise<T>) => withClient(loadConfig(), work);
  withSchedule("describe show a schedule: spec, state, recent runs and the next action times", async (id) => {
    await onSchedule(async (c) => {
      const d = await c.schedule.getHandle(id).describe();
      console.log(
        `schedule ${id}: ${d.state.paused ? "paused" : "active"}${d.state.note ? ` (${d.state.note})` : ""}, overlap ${d.policies.overlap}`,
      );
      console.log(
        `  runs ${d.info.numActionsTaken} taken, ${d.info.numActionsSkippedOverlap} skipped for overlap`,
      );
      for (const r of d.info.recentActions.slice(-3))
        console.log(`  ran ${r.takenAt.toISOString()} -> ${r.action.workflow.workflowId}`);
      for (const t of d.info.nextActionTimes.slice(0, 5)) console.log(`  next ${t.toUTCString()}`);
    });
  });
  withSchedule("pause stop taking actions", async (id) => {
    await onSchedule((c) => c.schedule.getHandle(id).pause("paused from crop-map"));
    console.log(`schedule ${id} paused`);
  });
  withSchedule("unpause take actions again", async (id) => {
    await onSchedule((c) => c.schedule.getHandle(id).unpause("unpaused from crop-map"));
    console.log(`schedule ${id} unpaused`);
  });
  withSchedule("trigger start a run now (skipped if one is going)", async (id) => {
    await onSchedule((c) => c.schedule.getHandle(id).trigger());
    console.log(`schedule ${id} triggered`);
  });
  withSchedule("delete remove a schedule (its past runs stay)", async (id) => {
    await onSchedule((c) => c.schedule.getHandle(id).delete());
    console.log(`schedule ${id} deleted`);
  });

  schedule
    .command("list")
    .description("every schedule with its next action time")
    .action(async () => {
      await onSchedule(async (c) => {
        for await (const s of c.schedule.list()) {
          const next = s.info?.nextActionTimes?.[0];
          console.log(
            `${s.scheduleId}  ${s.state.paused ? "paused" : "active"}  next ${next ? next.toUTCString() : "-"}`,
          );
        }
      });
    });
}
