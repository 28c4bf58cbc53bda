import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseGranuleId } from "../../lib/contracts/granule.id.ts";
import { TooLargeError } from "../../lib/errors/reader.errors.ts";
import { MaxCmrRecordBytes } from "../../lib/hls/cmr.xml.ts";
import { lookUpGranule } from "../../lib/hls/granule.catalogue.ts";
import { createS3Archive } from "../../lib/hls/hls.archive.ts";
import { createHttpsArchive } from "../../lib/hls/https.archive.ts";
import { cmrXmlKey } from "../../lib/hls/lpdaac.keys.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { putBytes, ref } from "../../lib/storage/s3.objects.ts";
import { type StandIn, startStandIn } from "../support/http.standin.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("archive-caps");
const s3 = createS3Client(config);
const id = "HLS.S30.T15TVG.2022200T170851.v2.0";
const key = cmrXmlKey(parseGranuleId(id));
/** A 2 MB "record": twice the cap, sent without a length by the HTTP stand-in. */
const huge = Buffer.alloc(2 * MaxCmrRecordBytes, "<a/>");
let server: StandIn;

beforeAll(async () => {
  await putBytes(s3, ref(config.storage.hls, key), huge, "application/xml");
  server = await startStandIn((_request, response) => {
    response.writeHead(200, { "content-type": "application/xml" });
    // Chunked: the cap must hold while the body streams, not only against a declared length.
    for (let at = 0; at < huge.length; at += 64 << 10) response.write(huge.subarray(at, at + (64 << 10)));
    response.end();
  });
});
afterAll(async () => {
  s3.destroy();
  await server.close();
});

describe("catalogue records past the size cap", () => {
  it("are refused by S3's declared length before the body is read, and their granule skipped", async () => {
    const archive = createS3Archive(s3, config.storage.hls);
    const error = await archive.getText(key, MaxCmrRecordBytes).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooLargeError);
    expect((error as Error).message).toBe(
      `${archive.url(key)}: ${huge.length} bytes, past the ${MaxCmrRecordBytes}-byte cap`,
    );
    expect(await lookUpGranule(archive, id)).toEqual({ id, skipped: (error as Error).message });
  });

  it("are refused over HTTPS as the body streams past the cap, and their granule skipped", async () => {
    const session = { get: (url: string, headers?: Record<string, string>) => fetch(url, { headers }) };
    const archive = createHttpsArchive(session, server.url, config.storage.hls, async () => []);
    const error = await archive.getText(key, MaxCmrRecordBytes).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooLargeError);
    expect((error as Error).message).toMatch(/: more than 1048576 bytes, past the 1048576-byte cap$/);
    expect(await lookUpGranule(archive, id)).toMatchObject({
      id,
      skipped: expect.stringMatching(/past the 1048576-byte cap$/),
    });
  });
});
