import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { type ByteSource, totalOfContentRange } from "../source/byte.source.ts";
import type { ObjectRef } from "./s3.objects.ts";

/** An S3 object as a ByteSource: ranged GETs (signed, any endpoint), its size from the first answer's Content-Range. */
export function s3Source(s3: S3Client, object: ObjectRef): ByteSource {
  let size: number | undefined;
  return {
    name: `s3://${object.bucket}/${object.key}`,
    get size() {
      return size;
    },
    async read(offset, length, signal) {
      const response = await s3.send(
        new GetObjectCommand({
          Bucket: object.bucket,
          Key: object.key,
          Range: `bytes=${offset}-${offset + length - 1}`,
        }),
        { abortSignal: signal },
      );
      const data = (await response.Body?.transformToByteArray()) ?? new Uint8Array();
      // No Content-Range: S3 answered the whole object.
      size = totalOfContentRange(response.ContentRange) ?? data.length;
      return data;
    },
  };
}
