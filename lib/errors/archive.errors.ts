/**
 * Errors of archives reached over HTTP (Earthdata endpoints, HTTPS, CMR), classified by what a
 * retry can do. Messages name the URL (without its query) and the status, never a credential.
 * Only pure imports: workflow code reads the type names for its retry policy.
 */
import { shownUrl } from "../core/shown.url.ts";

/** A request that failed in a way a retry may fix (HTTP 5xx, 429, network). */
export class ArchiveRequestError extends Error {
  override name = "ArchiveRequestError";
}

/** Access refused (HTTP 401/403): a bad, expired or unauthorised login; retrying cannot fix it. */
export class ArchiveAccessError extends Error {
  override name = "ArchiveAccessError";
}

/** Failure types that activity retry policies must not retry. */
export const NonRetryableArchiveErrors = ["ArchiveAccessError"];

/** A file that does not exist (HTTP 404); `isNotFound` recognises it by its name, as S3's. */
export class ArchiveNotFoundError extends Error {
  override name = "NotFound";
}

/** Whether an error reading the archive is transient: S3 service errors and ArchiveRequestError. */
export function isTransientArchiveError(error: unknown): boolean {
  const e = error as { $metadata?: unknown; name?: string };
  return e?.$metadata !== undefined || e?.name === "ArchiveRequestError";
}

/**
 * The error for a response that is not success: 404 missing, 401/403 refused, 429/5xx transient.
 * `response.url` names the host that answered when a redirect led elsewhere (Earthdata Login).
 */
export function httpStatusError(what: string, url: string, response: Response): Error {
  const { status } = response;
  const elsewhere = response.url && new URL(response.url).origin !== new URL(url).origin;
  const message = `${what} ${shownUrl(url)} answered HTTP ${status}${elsewhere ? ` (from ${shownUrl(response.url)})` : ""}`;
  if (status === 404) return new ArchiveNotFoundError(message);
  if (status === 401 || status === 403) {
    return new ArchiveAccessError(
      `${message}: access refused; check the Earthdata token or netrc login, and that the account may read this DAAC's data`,
    );
  }
  if (status === 429 || status >= 500) return new ArchiveRequestError(message);
  return new Error(message);
}
