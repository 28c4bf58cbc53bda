import { z } from "zod";
import { shownUrl } from "../core/shown.url.ts";
import { ArchiveRequestError, httpStatusError, isTransientArchiveError } from "../errors/archive.errors.ts";
import type { EarthdataSession } from "./earthdata.session.ts";
import { DefaultRetry, type RetryOptions, withRetries } from "./http.retry.ts";

/** Temporary S3 credentials, in the shape of the AWS SDK's credential identity. */
export interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/** The endpoint's answer. LP DAAC writes the expiration as `2019-02-27 23:26:56+00:00`. */
const CredentialsResponseParser = z.object({
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
  sessionToken: z.string().min(1),
  expiration: z
    .string()
    .transform((text) => new Date(text))
    .refine((date) => !Number.isNaN(date.getTime()), "expected a date"),
});

/** Refresh this long before expiry: 5 minutes of an hour's credentials, a quarter of short ones. */
export function refreshMarginMs(lifetimeMs: number): number {
  return Math.min(5 * 60_000, lifetimeMs / 4);
}

/** Don't fall back on held credentials this close to their expiry: a request may take this long. */
const FallbackFloorMs = 10_000;

/**
 * An AWS SDK credential provider for Earthdata's temporary S3 credentials. One set is held and
 * shared; it is replaced before it expires (see refreshMarginMs), so work longer than a set's
 * lifetime never signs with an expired one. Concurrent callers share one fetch; transient
 * endpoint failures are retried with backoff, and while a refresh fails the held set is used
 * until close to its expiry. Refused logins (401/403) fail at once with ArchiveAccessError.
 */
export function earthdataCredentialProvider(
  session: EarthdataSession,
  url: string,
  retry: RetryOptions = DefaultRetry,
): () => Promise<TemporaryCredentials> {
  const what = "Earthdata S3 credentials endpoint";
  let held: { credentials: TemporaryCredentials; refreshAt: number } | undefined;
  let pending: Promise<TemporaryCredentials> | undefined;

  async function fetchOnce(): Promise<TemporaryCredentials> {
    const response = await session.get(url, { accept: "application/json" }).catch((error: Error) => {
      throw error instanceof ArchiveRequestError
        ? new ArchiveRequestError(`${what}: ${error.message}`)
        : error;
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw httpStatusError(what, url, response);
    }
    const parsed = CredentialsResponseParser.safeParse(await response.json().catch(() => undefined));
    // Only field names in the message: the body holds secrets.
    if (!parsed.success)
      throw new Error(
        `${what} ${shownUrl(url)} answered without valid ${parsed.error.issues.map((i) => i.path.join(".") || "JSON").join(", ")}`,
      );
    return parsed.data;
  }

  async function refresh(): Promise<TemporaryCredentials> {
    const issuedAt = Date.now();
    try {
      const credentials = await withRetries(fetchOnce, retry);
      const lifetime = credentials.expiration.getTime() - issuedAt;
      held = { credentials, refreshAt: issuedAt + lifetime - refreshMarginMs(lifetime) };
      console.log(
        `Archive:Credentials:Issued endpoint=${shownUrl(url)} expires=${credentials.expiration.toISOString()} refreshAt=${new Date(held.refreshAt).toISOString()}`,
      );
      return credentials;
    } catch (error) {
      if (held && held.credentials.expiration.getTime() - Date.now() > FallbackFloorMs) {
        console.warn(`Archive:Credentials:RefreshFailed keeping=held reason=${(error as Error).message}`);
        return held.credentials;
      }
      if (isTransientArchiveError(error))
        throw new ArchiveRequestError(
          `${(error as Error).message}; gave up after ${retry.attempts} attempts`,
        );
      throw error;
    }
  }

  return async () => {
    if (held && Date.now() < held.refreshAt) return held.credentials;
    pending ??= refresh().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}
