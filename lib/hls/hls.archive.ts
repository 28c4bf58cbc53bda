import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { GeoTIFFImage } from "geotiff";
import type { HlsProduct } from "../contracts/granule.id.ts";
import { formatS3Url, type S3Location } from "../core/s3.url.ts";
import { TooLargeError } from "../errors/reader.errors.ts";
import { openCog } from "../raster/cog.reader.ts";
import { isNotFound, listAll, ref } from "../storage/s3.objects.ts";
import { s3Source } from "../storage/s3.source.ts";
import { tileYearPrefix } from "./lpdaac.keys.ts";

/**
 * Read access to an HLS archive in LP DAAC layout (`HLSS30.020/<granule>/<granule>.<band>.tif`),
 * wherever it is and however it is reached. Keys are relative to the archive's root. Every reader
 * of the archive (granule choice, staging) goes through this, never through the team's own client.
 */
export interface HlsArchive {
  /** Where a key is, for messages: an s3:// or https:// URL, never with a credential in it. */
  url(key: string): string;
  /** Granule ids (their folder names) of one product, tile and year, in any order. */
  listGranules(product: HlsProduct, tileId: string, year: number): Promise<string[]>;
  /**
   * A small file's text, or undefined when it does not exist; a file of more than `maxBytes`
   * rejects with TooLargeError before its body is read.
   */
  getText(key: string, maxBytes?: number): Promise<string | undefined>;
  /** A COG opened for ranged reads. A missing file rejects with an error `isNotFound` recognises. */
  openCog(key: string): Promise<GeoTIFFImage>;
}

/** An archive in an S3 bucket, read with the given client (its credentials are the archive's). */
export function createS3Archive(s3: S3Client, location: S3Location): HlsArchive {
  return {
    url: (key) => formatS3Url(location, key),

    async listGranules(product, tileId, year) {
      const folders = await listAll(
        s3,
        location.bucket,
        `${location.prefix}${tileYearPrefix(product, tileId, year)}`,
        {
          folders: true,
        },
      );
      return folders.map((p) => p.slice(0, -1).split("/").pop() ?? "");
    },

    async getText(key, maxBytes = Number.POSITIVE_INFINITY) {
      const object = ref(location, key);
      try {
        const response = await s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }));
        if ((response.ContentLength ?? 0) > maxBytes) {
          (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
          throw new TooLargeError(
            formatS3Url(location, key),
            `${response.ContentLength} bytes, past the ${maxBytes}-byte cap`,
          );
        }
        return (await response.Body?.transformToString()) ?? "";
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },

    openCog: (key) => openCog(s3Source(s3, ref(location, key))),
  };
}
