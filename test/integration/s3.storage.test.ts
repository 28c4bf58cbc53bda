import { randomBytes } from "node:crypto";
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { afterAll, describe, expect, it } from "vitest";
import { keyUnder } from "../../lib/core/s3.url.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { putBytes, ref } from "../../lib/storage/s3.objects.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("s3");
const s3 = createS3Client(config);
afterAll(() => s3.destroy());

describe("S3 server", () => {
  it("takes a multipart upload and serves byte ranges of it", async () => {
    const partSize = 5 * 1024 * 1024;
    const body = randomBytes(partSize * 2 + 1234);
    const { bucket } = config.storage.work;
    const key = keyUnder(config.storage.work, "multipart/object.bin");
    const upload = new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: body },
      partSize,
      queueSize: 2,
    });
    const parts: number[] = [];
    upload.on("httpUploadProgress", (p) => parts.push(p.part ?? 0));
    await upload.done();
    expect(new Set(parts).size).toBe(3);

    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.ContentLength).toBe(body.length);

    // A range that spans the boundary between the first and second part.
    const start = partSize - 100;
    const end = partSize + 99;
    const ranged = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end}` }),
    );
    const bytes = Buffer.from(await (ranged.Body?.transformToByteArray() ?? new Uint8Array()));
    expect(ranged.ContentRange).toBe(`bytes ${start}-${end}/${body.length}`);
    expect(bytes.equals(body.subarray(start, end + 1))).toBe(true);

    const tail = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: "bytes=-16" }));
    const tailBytes = Buffer.from(await (tail.Body?.transformToByteArray() ?? new Uint8Array()));
    expect(tailBytes.equals(body.subarray(body.length - 16))).toBe(true);
  });

  it("takes a body left out of the signature (UNSIGNED-PAYLOAD) and signs it otherwise", async () => {
    // The payload hash each PutObject was signed with, as it left the client.
    const signedWith: string[] = [];
    const client = createS3Client(config);
    client.middlewareStack.add(
      (next) => (args) => {
        const headers = (args.request as { headers: Record<string, string> }).headers;
        signedWith.push(headers["x-amz-content-sha256"] as string);
        return next(args);
      },
      { step: "finalizeRequest", priority: "low", name: "testPayloadHash" },
    );
    try {
      const body = randomBytes(100_000);
      const object = ref(config.storage.work, "unsigned/object.bin");
      for (const unsignedPayload of [true, false]) {
        await putBytes(client, object, body, "application/octet-stream", { unsignedPayload });
        const got = await client.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }));
        const bytes = Buffer.from(await (got.Body?.transformToByteArray() ?? new Uint8Array()));
        expect(bytes.equals(body)).toBe(true);
      }
      expect(signedWith[0]).toBe("UNSIGNED-PAYLOAD");
      expect(signedWith[2]).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      client.destroy();
    }
  });
});
