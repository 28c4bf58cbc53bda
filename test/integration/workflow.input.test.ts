import { ApplicationFailure, WorkflowFailedError } from "@temporalio/client";
import { describe, expect, it } from "vitest";
import type { RunInput } from "../../lib/contracts/run.contract.ts";
import type { TileWorkflowInput } from "../../lib/contracts/tile.contract.ts";
import { createCpuWorker } from "../../workers/worker.factory.ts";
import { temporalSession } from "../support/temporal.session.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("badinput");
const session = temporalSession(config);

/** What the run and the tile inputs share. */
const common = {
  year: 2022,
  model: "crop-tiny",
  chip: { size: 224, stride: 224 },
  inferenceQueue: config.taskQueues.inference,
};
const run: RunInput = { ...common, runId: "bad-input-run", region: { kind: "state", state: "RI" } };
const tile: TileWorkflowInput = {
  ...common,
  tileId: "19TCG",
  windows: [{ start: "04-01", end: "05-31" }],
  maxCloudCover: 50,
  minSpatialCoverage: 50,
  outputPrefix: "tiles/bad/",
};
const { tileId: _id, outputPrefix: _prefix, ...template } = tile;

/** Each workflow with an input its schema refuses, and the start of the line its failure must say. */
const cases: [workflow: string, input: unknown[], says: string][] = [
  ["runWorkflow", [{ ...run, maxTilesInFlight: 501 }], "run: maxTilesInFlight=501: Too big"],
  ["runWorkflow", [{ ...run, retryRounds: 11 }], "run: retryRounds=11: Too big"],
  [
    "runWorkflow",
    [{ ...run, runId: "sched-2026-01-01T06:00:00Z" }],
    'run: runId="sched-2026-01-01T06:00:00Z"',
  ],
  [
    "batchWorkflow",
    [
      {
        runId: "bad-input-run",
        round: 0,
        parentWorkflowId: "bad-input-run",
        tiles: ["19TCG"],
        outputPrefix: "runs/bad/",
        maxInFlight: 8,
        tileTemplate: { ...template, chip: { size: -1, stride: 224 } },
      },
    ],
    "batch: tileTemplate.chip.size=-1: Too small",
  ],
  ["tileWorkflow", [{ ...tile, tileId: "../x" }], 'tile: tileId="../x"'],
  ["tileWorkflow", [{ ...tile, series: { maxDates: 0 } }], "tile: series.maxDates=0: Too small"],
  [
    "reportWorkflow",
    [
      {
        runId: "r",
        region: run.region,
        year: "2022",
        model: "crop-tiny",
        outputPrefix: "runs/r/",
        tiles: [],
      },
    ],
    'report: year="2022"',
  ],
  ["stackCheckWorkflow", [{ locations: ["hls"] }], "stack check: (root)=(an object): takes no input"],
];

describe("a workflow started with an input its schema refuses", () => {
  it("ends at its first workflow task with a non-retryable InvalidInput failure naming the field and value", async () => {
    const { client, connection, s3 } = session;
    const worker = await createCpuWorker({ connection, config, s3 });
    const handles = await Promise.all(
      cases.map(([workflow, args], i) =>
        client.workflow.start(workflow, {
          taskQueue: config.taskQueues.cpu,
          workflowId: `${config.taskQueues.cpu}-bad-${i}`,
          args,
          // A guard only: the old behaviour (a workflow task retried forever) ends here, not in a hung test.
          workflowExecutionTimeout: "1 minute",
        }),
      ),
    );
    const outcomes = await worker.runUntil(Promise.allSettled(handles.map((h) => h.result())));
    for (const [i, outcome] of outcomes.entries()) {
      const [workflow, , says] = cases[i] as (typeof cases)[number];
      expect(outcome.status, workflow).toBe("rejected");
      const error = (outcome as PromiseRejectedResult).reason;
      expect(error, workflow).toBeInstanceOf(WorkflowFailedError);
      const cause = (error as WorkflowFailedError).cause;
      expect(cause, workflow).toBeInstanceOf(ApplicationFailure);
      expect((cause as ApplicationFailure).type, workflow).toBe("InvalidInput");
      expect((cause as ApplicationFailure).nonRetryable, workflow).toBe(true);
      expect(cause?.message.startsWith(says), `${workflow}: ${cause?.message}`).toBe(true);
      // Failed by its first workflow task, never retried: the history holds no failed task.
      const history = await handles[i]?.fetchHistory();
      expect(
        history?.events?.some((e) => e.workflowTaskFailedEventAttributes),
        workflow,
      ).toBe(false);
      expect(
        history?.events?.filter((e) => e.workflowTaskCompletedEventAttributes),
        workflow,
      ).toHaveLength(1);
    }
  });
});
