import type { BaseResponse, GeoTIFFImage } from "geotiff";
import { withRetries } from "../earthdata/http.retry.ts";
import { ArchiveRequestError, httpStatusError, shownUrl } from "../errors/archive.errors.ts";
import { openCogWith, RangeClient, RangeResponse } from "./cog.reader.ts";

/** A GET that applies its own authorisation (an EarthdataSession's). */
export type AuthorisedGet = (
  url: string,
  headers?: Record<string, string>,
  signal?: AbortSignal,
) => Promise<Response>;

/**
 * geotiff.js's HTTP client, answered by ranged GETs through `get`, so the bearer token or
 * Earthdata Login cookie goes with each, and transient failures are retried like S3's.
 */
class HttpRangeClient extends RangeClient {
  constructor(
    private readonly get: AuthorisedGet,
    url: string,
  ) {
    super(url);
  }

  protected override fetchRange(options: RequestInit): Promise<BaseResponse> {
    const range = new Headers(options.headers).get("range");
    return withRetries(async () => {
      const response = await this.get(this.url, range ? { range } : {}, options.signal ?? undefined);
      if (!response.ok) {
        await response.body?.cancel();
        throw httpStatusError("GET", this.url, response);
      }
      let data: Uint8Array;
      try {
        data = new Uint8Array(await response.arrayBuffer());
      } catch (error) {
        if ((error as Error).name === "AbortError") throw error;
        throw new ArchiveRequestError(`GET ${shownUrl(this.url)} broke off: ${(error as Error).message}`);
      }
      const headers: Record<string, string> = {
        "content-type": response.headers.get("content-type") ?? "application/octet-stream",
        "content-length": String(data.length),
      };
      const contentRange = response.headers.get("content-range");
      if (contentRange) headers["content-range"] = contentRange;
      return new RangeResponse(response.status, headers, data);
    });
  }
}

/** A COG over HTTP(S), read with ranged GETs through `get`. */
export function openHttpCog(get: AuthorisedGet, url: string): Promise<GeoTIFFImage> {
  return openCogWith(new HttpRangeClient(get, url));
}
