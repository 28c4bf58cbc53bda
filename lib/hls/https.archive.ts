import type { S3Location } from "../core/s3.url.ts";
import { shownUrl } from "../core/shown.url.ts";
import type { EarthdataSession } from "../earthdata/earthdata.session.ts";
import { withRetries } from "../earthdata/http.retry.ts";
import { httpStatusError } from "../errors/archive.errors.ts";
import { TooLargeError } from "../errors/reader.errors.ts";
import { openCog } from "../raster/cog.reader.ts";
import type { HlsArchive } from "./hls.archive.ts";
import { httpsSource } from "./https.source.ts";

/** A response's text, refused with TooLargeError as soon as it passes `maxBytes` (declared or read). */
async function cappedText(response: Response, maxBytes: number, url: string): Promise<string> {
  const refuse = (bytes: string) =>
    new TooLargeError(shownUrl(url), `${bytes} bytes, past the ${maxBytes}-byte cap`);
  const declared = Number(response.headers.get("content-length") ?? 0);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw refuse(String(declared));
  }
  const chunks: Uint8Array[] = [];
  let read = 0;
  const reader = response.body?.getReader();
  for (let chunk = await reader?.read(); chunk && !chunk.done; chunk = await reader?.read()) {
    read += chunk.value.length;
    if (read > maxBytes) {
      await reader?.cancel();
      throw refuse(`more than ${maxBytes}`);
    }
    chunks.push(chunk.value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The archive over HTTPS, as Earthdata serves a DAAC's buckets to hosts outside its region:
 * `<httpsUrl><bucket>/<key>`, GETs with the Earthdata login (the DAAC answers with a redirect to
 * a signed URL, which the session follows without the login). HTTPS cannot list folders, so
 * granules are found by `listGranules` (CMR search).
 */
export function createHttpsArchive(
  session: EarthdataSession,
  httpsUrl: string,
  location: S3Location,
  listGranules: HlsArchive["listGranules"],
): HlsArchive {
  const url = (key: string) => `${httpsUrl}${encodeURI(`${location.bucket}/${location.prefix}${key}`)}`;
  return {
    url,
    listGranules,

    getText: (key, maxBytes = Number.POSITIVE_INFINITY) =>
      withRetries(async () => {
        const response = await session.get(url(key));
        if (response.status === 404) {
          await response.body?.cancel();
          return undefined;
        }
        if (!response.ok) {
          await response.body?.cancel();
          throw httpStatusError("GET", url(key), response);
        }
        return cappedText(response, maxBytes, url(key));
      }),

    openCog: (key) => openCog(httpsSource(session.get, url(key))),
  };
}
