import { randomUUID } from "node:crypto";
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import type { Config } from "../lib/config/config.schema.ts";
import { keyUnder } from "../lib/storage/s3.url.ts";

export const ProbeStorageInputParser = z
  .object({ location: z.enum(["hls", "cdl", "work", "outputs"]) })
  .strict();
export type ProbeStorageInput = z.infer<typeof ProbeStorageInputParser>;

export interface ProbeStorageResult {
  location: string;
  url: string;
  /** Bytes written and read back. */
  bytes: number;
  roundTripMs: number;
}

/**
 * Checks that a configured storage location can be written, read and cleaned from a worker: the
 * first thing to know when a worker host is new. Each probe writes its own random key under
 * `_probe/`, so concurrent probes never see each other's objects.
 */
export function createStorageProbeActivities(s3: S3Client, config: Config) {
  return {
    async probeStorage(raw: ProbeStorageInput): Promise<ProbeStorageResult> {
      const { location } = ProbeStorageInputParser.parse(raw);
      const target = config.storage[location];
      const key = keyUnder(target, `_probe/${randomUUID()}`);
      const body = `crop-map storage probe ${new Date().toISOString()}`;
      const started = Date.now();
      await s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: body }));
      try {
        const read = await s3.send(new GetObjectCommand({ Bucket: target.bucket, Key: key }));
        const text = await read.Body?.transformToString();
        if (text !== body) throw new Error(`s3://${target.bucket}/${key} read back different bytes`);
      } finally {
        await s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: key }));
      }
      return {
        location,
        url: `s3://${target.bucket}/${target.prefix}`,
        bytes: Buffer.byteLength(body),
        roundTripMs: Date.now() - started,
      };
    },
  };
}
