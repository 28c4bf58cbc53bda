import type { S3Client } from "@aws-sdk/client-s3";
import { type Client, defaultPayloadConverter, WorkflowNotFoundError } from "@temporalio/client";
import type { Config } from "../../lib/config/config.schema.ts";
import {
  type RunInput,
  type RunStatus,
  RunStatusRecordParser,
  runIdFromWorkflowId,
} from "../../lib/contracts/run.contract.ts";
import type { RunSummary } from "../../lib/contracts/run.summary.ts";
import { getJson, objectSize, ref } from "../../lib/storage/s3.objects.ts";
import { InputError } from "../cli.errors.ts";

/** A query no worker answers must not hang the command. */
const QueryMs = 5000;
/** TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW: the pollers that replay a workflow to answer its queries. */
const WorkflowTaskQueue = 1;

/** What `crop-map status` knows about a run, and where each part of it came from. */
export interface RunStatusAnswer {
  runId: string;
  /** Temporal's state of the run's workflow: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, ... */
  workflowStatus: string;
  startedAt: string;
  closedAt?: string;
  /** The run's folder under the outputs location. */
  outputPrefix: string;
  /**
   * Where the tile states come from: the live `status` query (a worker replays the workflow), the
   * run's tiles.json (written at its end), or nowhere.
   */
  tilesFrom: "query" | "tiles.json" | "none";
  status?: RunStatus;
  /** A completed run's result: totals, failures, the report's files. */
  summary?: RunSummary;
  /** When the tile states cannot be read: what is missing and why. */
  unreadable?: string;
  /** Where the tile states cannot be read: the tiles with a finished map in S3, of the run's tiles. */
  finishedMaps?: { done: string[]; total: number };
}

/** The run's input as it was started: the first event of its history (no worker needed). */
async function startInput(client: Client, workflowId: string): Promise<Partial<RunInput>> {
  const history = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId },
    maximumPageSize: 1,
  });
  const payload = history.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return payload ? (defaultPayloadConverter.fromPayload(payload) as Partial<RunInput>) : {};
}

/** Whether any worker polls the workflow task queue: without one a query waits for nobody. */
async function hasWorkflowPoller(client: Client, taskQueue: string): Promise<boolean> {
  const described = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: WorkflowTaskQueue,
  });
  return (described.pollers ?? []).length > 0;
}

async function tilesRecord(s3: S3Client, config: Config, prefix: string): Promise<RunStatus | undefined> {
  const parsed = RunStatusRecordParser.safeParse(
    await getJson(s3, ref(config.storage.outputs, `${prefix}tiles.json`)),
  );
  return parsed.success ? parsed.data : undefined;
}

/** The run's tiles from its run.json and which of them have a finished map (a manifest). */
async function finishedMaps(s3: S3Client, config: Config, prefix: string) {
  const run = (await getJson(s3, ref(config.storage.outputs, `${prefix}run.json`))) as
    | { tiles?: unknown }
    | undefined;
  const tiles = Array.isArray(run?.tiles) ? run.tiles.filter((t): t is string => typeof t === "string") : [];
  const sizes = await Promise.all(
    tiles.map((t) => objectSize(s3, ref(config.storage.outputs, `${prefix}tiles/${t}/manifest.json`))),
  );
  return { done: tiles.filter((_, i) => sizes[i] !== undefined), total: tiles.length };
}

/**
 * A run's status for a running or a closed workflow, with or without a worker. A query is answered
 * only by a worker replaying the workflow, so it is asked only where one polls; a completed run
 * answers from its result and tiles.json instead, and where neither works the answer says why.
 */
export async function readRunStatus(
  client: Client,
  s3: S3Client,
  config: Config,
  runId: string,
): Promise<RunStatusAnswer> {
  const handle = client.workflow.getHandle(runId);
  const description = await handle.describe().catch((error) => {
    if (error instanceof WorkflowNotFoundError) throw new InputError(`no run '${runId}'`);
    throw error;
  });
  const input = await startInput(client, runId);
  const outputPrefix = input.outputPrefix ?? `runs/${input.runId ?? runIdFromWorkflowId(runId)}/`;
  const workflowStatus = description.status.name;
  const answer: RunStatusAnswer = {
    runId,
    workflowStatus,
    startedAt: description.startTime.toISOString(),
    ...(description.closeTime ? { closedAt: description.closeTime.toISOString() } : {}),
    outputPrefix,
    tilesFrom: "none",
  };

  if (workflowStatus === "COMPLETED") {
    const summary = (await handle.result()) as RunSummary;
    const recorded = await tilesRecord(s3, config, summary.outputPrefix);
    return {
      ...answer,
      outputPrefix: summary.outputPrefix,
      summary,
      ...(recorded
        ? { tilesFrom: "tiles.json", status: { ...recorded, phase: "finished" } }
        : { unreadable: `the run's ${summary.outputPrefix}tiles.json is missing or unreadable` }),
    };
  }
  // A run cut off after recording its tiles (its report failed) still has them in tiles.json.
  const recorded = workflowStatus === "RUNNING" ? undefined : await tilesRecord(s3, config, outputPrefix);
  if (recorded) return { ...answer, tilesFrom: "tiles.json", status: recorded };

  const polled = await hasWorkflowPoller(client, description.taskQueue);
  if (polled) {
    const status = await client.connection
      .withDeadline(Date.now() + QueryMs, () => handle.query<RunStatus>("status"))
      .catch(() => undefined);
    if (status) return { ...answer, tilesFrom: "query", status };
  }
  const why = polled
    ? `the worker polling task queue '${description.taskQueue}' did not answer the status query within ${QueryMs / 1000} s`
    : `no worker polls task queue '${description.taskQueue}'; start one with \`npx crop-map worker\``;
  return {
    ...answer,
    unreadable: `tile states cannot be read: they live in the ${workflowStatus.toLowerCase()} workflow, which a worker must replay to answer the status query, and ${why}`,
    finishedMaps: await finishedMaps(s3, config, outputPrefix),
  };
}
