import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { isNotFound, type ObjectRef } from "../storage/s3.objects.ts";

/**
 * A run's files are whatever S3 says they are: opened as a page (an HTML report, an SVG), one runs
 * sandboxed, as an origin of its own with no script, so it can never act as the viewer.
 */
const FileSecurityPolicy =
  "sandbox; default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'";

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range: what geotiff.js asks for. Several ranges are not served. */
const SingleRange = /^bytes=(\d*)-(\d*)$/;

/**
 * Answers a GET or HEAD for one object with S3's own answer, passed through: a `Range` header
 * becomes a ranged GET and a 206 with its Content-Range, so the browser reads a COG's header and
 * tiles without ever holding S3 credentials. The caller has already checked that the key is one
 * the viewer may serve.
 */
export async function proxyObject(
  s3: S3Client,
  object: ObjectRef,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  response.setHeader("content-security-policy", FileSecurityPolicy);
  const range = request.headers.range;
  if (range !== undefined && !SingleRange.test(range)) {
    response.writeHead(416, { "content-type": "text/plain" }).end(`unsupported range '${range}'\n`);
    return;
  }
  const base = { Bucket: object.bucket, Key: object.key };
  try {
    if (request.method === "HEAD") {
      const head = await s3.send(new HeadObjectCommand(base));
      response
        .writeHead(200, {
          "content-type": head.ContentType ?? "application/octet-stream",
          "content-length": String(head.ContentLength ?? 0),
          "accept-ranges": "bytes",
        })
        .end();
      return;
    }
    const got = await s3.send(new GetObjectCommand({ ...base, ...(range ? { Range: range } : {}) }));
    response.writeHead(got.ContentRange ? 206 : 200, {
      "content-type": got.ContentType ?? "application/octet-stream",
      "content-length": String(got.ContentLength ?? 0),
      "accept-ranges": "bytes",
      ...(got.ContentRange ? { "content-range": got.ContentRange } : {}),
    });
    await pipeline(got.Body as Readable, response);
  } catch (error) {
    if (response.headersSent) {
      response.destroy(error as Error);
      return;
    }
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (isNotFound(error)) response.writeHead(404, { "content-type": "text/plain" }).end("no such file\n");
    else if (e.name === "InvalidRange" || e.$metadata?.httpStatusCode === 416)
      response.writeHead(416, { "content-type": "text/plain" }).end(`range '${range}' is outside the file\n`);
    else throw error;
  }
}
