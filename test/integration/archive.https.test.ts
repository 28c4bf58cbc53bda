import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { MockActivityEnvironment } from "@temporalio/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStageActivities } from "../../activities/stage.activities.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import { HlsProducts, parseGranuleId } from "../../lib/contracts/granule.id.ts";
import { ArchiveAccessError } from "../../lib/errors/archive.errors.ts";
import { createHlsArchive } from "../../lib/hls/archive.factory.ts";
import { createS3Archive } from "../../lib/hls/hls.archive.ts";
import { bandKey, stacItemKey } from "../../lib/hls/lpdaac.keys.ts";
import { loadModelManifest } from "../../lib/model/model.manifest.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { isNotFound } from "../../lib/storage/s3.objects.ts";
import { type CmrStandIn, cmrPages, startCmrStandIn } from "../support/cmr.standin.ts";
import { type StandIn, startStandIn } from "../support/http.standin.ts";
import { testConfig } from "../support/test.config.ts";
import {
  labelGridOf,
  type StagedThrough,
  selectAndStage,
  WorldYear,
  writeOneTileWorld,
} from "../support/tile.archive.ts";

const config = testConfig("archive-https");
const s3 = createS3Client(config);
const s3Archive = createS3Archive(s3, config.storage.hls);
const TileId = "19TCG";
const token = `edl-${randomBytes(16).toString("hex")}`;

let grid: Awaited<ReturnType<typeof labelGridOf>>;
let reference: StagedThrough;
let daac: StandIn;
let signed: StandIn;
let cmr: CmrStandIn;
/** What the two file servers saw. */
const seen = { daac: [] as string[], ranged: 0, signedWithAuthorization: 0 };

function plain(response: ServerResponse, status: number, text: string) {
  response.writeHead(status, { "content-type": "text/plain" });
  response.end(text);
}

function httpsConfig(): Config {
  return {
    ...config,
    archive: { ...config.archive, access: "earthdata-https", httpsUrl: daac.url, cmrUrl: cmr.url },
  };
}

beforeAll(async () => {
  await writeOneTileWorld(s3, config, TileId);
  grid = await labelGridOf(s3, config);
  reference = await selectAndStage(s3, config, s3Archive, TileId, grid, "reference");

  // The signed-URL host the DAAC redirects to (S3 or CloudFront for the real one): serves byte
  // ranges from the test S3 and, as S3 does, refuses a request that also carries Authorization.
  signed = await startStandIn(async (request, response, url) => {
    if (request.headers.authorization) {
      seen.signedWithAuthorization++;
      return plain(response, 400, "InvalidArgument: Only one auth mechanism allowed");
    }
    if (!url.searchParams.get("X-Amz-Signature")) return plain(response, 403, "AccessDenied");
    const [, bucket, ...key] = decodeURIComponent(url.pathname).split("/");
    const range = request.headers.range;
    if (range) seen.ranged++;
    try {
      const object = await s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: key.join("/"), Range: range }),
      );
      const body = (await object.Body?.transformToByteArray()) ?? new Uint8Array();
      response.writeHead(object.ContentRange ? 206 : 200, {
        "content-type": object.ContentType ?? "application/octet-stream",
        "content-length": String(body.length),
        ...(object.ContentRange ? { "content-range": object.ContentRange } : {}),
      });
      response.end(body);
    } catch (error) {
      if (isNotFound(error)) return plain(response, 404, "NoSuchKey");
      throw error;
    }
  }, "127.0.0.2");

  // The DAAC's HTTPS endpoint: the bearer token or 401, then a redirect to a signed URL.
  daac = await startStandIn((request, response, url) => {
    seen.daac.push(request.headers.authorization?.split(" ")[0] ?? "none");
    if (request.headers.authorization !== `Bearer ${token}`) return plain(response, 401, "Unauthorized");
    response.writeHead(307, {
      location: `${signed.url}${url.pathname.slice(1)}?X-Amz-Signature=${randomBytes(8).toString("hex")}`,
    });
    response.end();
  });

  // CMR over what the test S3 holds, three granules a page so that the search pages.
  cmr = await startCmrStandIn(async (product, tileId, year) =>
    cmrPages(await s3Archive.listGranules(product, tileId, year), 3),
  );
});

afterAll(async () => {
  for (const server of [daac, signed, cmr]) await server?.close();
  s3.destroy();
});

describe("Earthdata HTTPS access", () => {
  it("chooses and stages a tile exactly as from S3, with ranged GETs and CMR search", async () => {
    const archive = createHlsArchive(httpsConfig(), { EARTHDATA_TOKEN: token });
    const through = await selectAndStage(s3, config, archive, TileId, grid, "https");
    expect(through.selection.granules).toEqual(reference.selection.granules);
    expect(through.selection.candidates).toBe(reference.selection.candidates);
    expect(through.staged.validPixels).toBe(reference.staged.validPixels);
    expect(through.stack.equals(reference.stack)).toBe(true);

    // Every granule of the tile came through CMR, over several pages.
    const listed = (
      await Promise.all(HlsProducts.map((p) => s3Archive.listGranules(p, TileId, WorldYear)))
    ).flat();
    expect(through.selection.candidates).toBe(listed.length);
    expect(cmr.requests.filter((r) => r.searchAfter).length).toBeGreaterThan(2);
    // The token went to the DAAC with every request, never on to the signed URLs; reads were ranged.
    expect(seen.daac.length).toBeGreaterThan(0);
    expect(seen.daac.every((scheme) => scheme === "Bearer")).toBe(true);
    expect(seen.signedWithAuthorization).toBe(0);
    expect(seen.ranged).toBeGreaterThan(0);
  });

  it("tells a missing file from a present one", async () => {
    const archive = createHlsArchive(httpsConfig(), { EARTHDATA_TOKEN: token });
    const granule = parseGranuleId(reference.selection.granules[0]?.id as string);
    expect(await archive.getText(stacItemKey(granule))).toContain("eo:cloud_cover");
    const absent = { ...granule, doy: granule.doy === 1 ? 2 : 1 };
    expect(await archive.getText(stacItemKey(absent))).toBeUndefined();
    const error = await archive.openCog(bandKey(absent, "B04")).catch((e: unknown) => e);
    expect(isNotFound(error)).toBe(true);
  });

  it("refuses a wrong token with the URL and status, never the token, and staging says so", async () => {
    const wrong = `edl-${randomBytes(16).toString("hex")}`;
    const archive = createHlsArchive(httpsConfig(), { EARTHDATA_TOKEN: wrong });
    const granule = parseGranuleId(reference.selection.granules[0]?.id as string);
    const error = (await archive.getText(stacItemKey(granule)).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(ArchiveAccessError);
    expect(error.message).toContain(`GET ${archive.url(stacItemKey(granule))} answered HTTP 401`);
    expect(`${error.message} ${error.stack}`).not.toContain(wrong);

    const staging = new MockActivityEnvironment().run(createStageActivities(s3, config, archive).stageTile, {
      tileId: TileId,
      year: WorldYear,
      granules: reference.selection.granules.map((g) => g.id),
      labelGrid: { epsg: grid.epsg, origin: grid.origin, pixelSize: grid.pixelSize },
      chip: (await loadModelManifest("crop-tiny")).chip,
    });
    await expect(staging).rejects.toBeInstanceOf(ArchiveAccessError);
  });
});
