/**
 * What a Temporal failure chain (workflow, child workflow, activity, application failure) says
 * about why work failed: the innermost message, the application failure's type, the activity and
 * the child workflow it happened in. No imports, so workflow code can use it too.
 */
export interface FailureCause {
  message: string;
  /** The innermost ApplicationFailure's type (BadData, NoUsableGranule, ...). */
  type?: string;
  /** The activity that failed. */
  activity?: string;
  /** The innermost child workflow on the way (a tile's `<run>/<tile>`). */
  workflowId?: string;
}

interface FailureNode {
  name?: string;
  message?: string;
  cause?: unknown;
  type?: string | null;
  activityType?: string;
  execution?: { workflowId?: string };
}

export function rootCause(error: unknown): FailureCause {
  let node = error as FailureNode | undefined;
  const cause: FailureCause = { message: node?.message || String(error) };
  while (node) {
    if (node.message) cause.message = node.message;
    if (node.name === "ApplicationFailure" && node.type) cause.type = node.type;
    if (typeof node.activityType === "string") cause.activity = node.activityType;
    if (node.execution?.workflowId) cause.workflowId = node.execution.workflowId;
    node = node.cause as FailureNode | undefined;
  }
  return cause;
}

/** One line: the message, then its type and activity, e.g. `... is missing [BadData in stageTile]`. */
export function causeLine(cause: FailureCause): string {
  const where = [cause.type, cause.activity && `in ${cause.activity}`].filter(Boolean).join(" ");
  return where ? `${cause.message} [${where}]` : cause.message;
}
