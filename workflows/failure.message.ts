/** The innermost message of a failure chain (child workflow, activity, application failure). */
export function rootMessage(error: unknown): string {
  let current = error as { message?: string; cause?: unknown } | undefined;
  let message = current?.message ?? String(error);
  while (current?.cause) {
    current = current.cause as { message?: string; cause?: unknown };
    if (current.message) message = current.message;
  }
  return message;
}
