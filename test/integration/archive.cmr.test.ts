import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ArchiveRequestError } from "../../lib/errors/archive.errors.ts";
import { createHlsArchive } from "../../lib/hls/archive.factory.ts";
import { searchCmrGranules } from "../../lib/hls/cmr.search.ts";
import { type CmrPage, type CmrStandIn, startCmrStandIn } from "../support/cmr.standin.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("archive-cmr");
const fixtures = join(import.meta.dirname, "..", "fixtures", "cmr");
/** Hand-made in CMR's documented umm_json shape (not recorded from the live service). */
const pageFiles = ["hlss30-15TVG-2022.page1.json", "hlss30-15TVG-2022.page2.json"];
const Good = [
  "HLS.S30.T15TVG.2022150T165851.v2.0",
  "HLS.S30.T15TVG.2022155T165849.v2.0",
  "HLS.S30.T15TVG.2022160T165851.v2.0",
];
let cmr: CmrStandIn;

beforeAll(async () => {
  const pages = await Promise.all(
    pageFiles.map(async (f) => JSON.parse(await readFile(join(fixtures, f), "utf8")) as CmrPage),
  );
  cmr = await startCmrStandIn((product, tileId, year) =>
    product === "S30" && tileId === "15TVG" && year === 2022 ? pages : [],
  );
});

afterAll(async () => {
  await cmr?.close();
});

describe("CMR granule search", () => {
  it("pages with CMR-Search-After and skips, counting, entries that are not granule ids", async () => {
    const before = cmr.requests.length;
    const found = await searchCmrGranules(cmr.url, "S30", "15TVG", 2022);
    expect(found.ids).toEqual(Good);
    expect(found.skipped).toHaveLength(2);
    expect(found.skipped[0]).toContain("day of year 400 is not in 2022");
    expect(found.skipped[1]).toContain("no umm.GranuleUR");

    const [first, second] = cmr.requests.slice(before);
    expect(cmr.requests.length - before).toBe(2);
    expect(first?.searchAfter).toBeUndefined();
    expect(second?.searchAfter).toMatch(/^\["lpcloud",/);
    expect(Object.fromEntries(first?.query ?? [])).toEqual({
      collection_concept_id: "C2021957295-LPCLOUD",
      "attribute[]": "string,MGRS_TILE_ID,15TVG",
      temporal: "2022-01-01T00:00:00Z,2022-12-31T23:59:59Z",
      page_size: "2000",
    });
  });

  it("asks for L30 by its own collection, and an empty answer is no granules", async () => {
    const found = await searchCmrGranules(cmr.url, "L30", "15TVG", 2022);
    expect(found).toEqual({ ids: [], skipped: [] });
    expect(cmr.requests.at(-1)?.query.get("collection_concept_id")).toBe("C2021957657-LPCLOUD");
  });

  it("retries a failing search, and gives up with the URL and status named", async () => {
    cmr.failNext.push(503);
    expect((await searchCmrGranules(cmr.url, "S30", "15TVG", 2022)).ids).toEqual(Good);
    cmr.failNext.push(503, 503);
    const quick = { attempts: 2, firstDelayMs: 10 };
    const error = await searchCmrGranules(cmr.url, "S30", "15TVG", 2022, quick).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArchiveRequestError);
    expect((error as Error).message).toBe(`CMR granule search ${cmr.url}granules.umm_json answered HTTP 503`);
  });

  it("lists an S3 archive's granules through CMR when archive.listing is cmr, logging what it skipped", async () => {
    const warnings: string[] = [];
    const warn = vi.spyOn(console, "warn").mockImplementation((line: string) => {
      warnings.push(line);
    });
    try {
      const archive = createHlsArchive(
        { ...config, archive: { ...config.archive, listing: "cmr", cmrUrl: cmr.url } },
        {},
      );
      expect(await archive.listGranules("S30", "15TVG", 2022)).toEqual(Good);
      expect(warnings).toEqual([
        expect.stringMatching(/^Archive:Cmr:Skipped product=S30 tile=15TVG year=2022 skipped=2 first=/),
      ]);
    } finally {
      warn.mockRestore();
    }
  });
});
