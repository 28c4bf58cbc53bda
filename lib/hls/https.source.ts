import { shownUrl } from "../core/shown.url.ts";
import { withRetries } from "../earthdata/http.retry.ts";
import { ArchiveRequestError, httpStatusError } from "../errors/archive.errors.ts";
import { type ByteSource, totalOfContentRange } from "../source/byte.source.ts";

/** A GET that applies its own authorisation (an EarthdataSession's). */
export type AuthorisedGet = (
  url: string,
  headers?: Record<string, string>,
  signal?: AbortSignal,
) => Promise<Response>;

/**
 * A file over HTTP(S) as a ByteSource: ranged GETs through `get`, so the bearer token or Earthdata
 * Login cookie goes with each, and transient failures are retried like S3's. A server that
 * ignores the range and answers the whole file is answered from it.
 */
export function httpsSource(get: AuthorisedGet, url: string): ByteSource {
  let size: number | undefined;
  return {
    name: shownUrl(url),
    get size() {
      return size;
    },
    read: (offset, length, signal) =>
      withRetries(async () => {
        const response = await get(url, { range: `bytes=${offset}-${offset + length - 1}` }, signal);
        if (!response.ok) {
          await response.body?.cancel();
          throw httpStatusError("GET", url, response);
        }
        let data: Uint8Array;
        try {
          data = new Uint8Array(await response.arrayBuffer());
        } catch (error) {
          if ((error as Error).name === "AbortError") throw error;
          throw new ArchiveRequestError(`GET ${shownUrl(url)} broke off: ${(error as Error).message}`);
        }
        if (response.status === 206) {
          size = totalOfContentRange(response.headers.get("content-range")) ?? size;
          return data;
        }
        size = data.length;
        return data.subarray(offset, offset + length);
      }),
  };
}
