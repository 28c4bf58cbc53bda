import { randomBytes } from "node:crypto";
import type { HlsProduct } from "../../lib/contracts/granule.id.ts";
import { HlsCollectionIds } from "../../lib/hls/cmr.search.ts";
import { json, type StandIn, startStandIn } from "./http.standin.ts";

/** One page of a umm_json granule search answer: `{ hits, took, items }`. */
export type CmrPage = { hits: number; took: number; items: unknown[] };

export interface CmrStandIn extends StandIn {
  /** Each request's query and CMR-Search-After header. */
  requests: { query: URLSearchParams; searchAfter: string | undefined }[];
  /** Answer the next requests with these statuses. */
  failNext: number[];
}

const TileAttribute = /^string,MGRS_TILE_ID,(\d{2}[A-Z]{3})$/;
const YearRange = /^(\d{4})-01-01T00:00:00Z,(\d{4})-12-31T23:59:59Z$/;

/**
 * CMR's granule search (`granules.umm_json`) for HLS: the query must be the documented one
 * (collection concept id, MGRS_TILE_ID attribute, a year's temporal range, page_size=2000), else
 * 400 as CMR answers. Pages come from `pagesFor`; each carries a CMR-Search-After header that the
 * next request must send, and a request past the last page gets no items and no header.
 */
export async function startCmrStandIn(
  pagesFor: (product: HlsProduct, tileId: string, year: number) => Promise<CmrPage[]> | CmrPage[],
): Promise<CmrStandIn> {
  const requests: CmrStandIn["requests"] = [];
  const failNext: number[] = [];
  /** Search-after value -> index of the page it continues to. */
  const continuations = new Map<string, number>();
  const server = await startStandIn(async (request, response, url) => {
    const searchAfter = request.headers["cmr-search-after"] as string | undefined;
    requests.push({ query: url.searchParams, searchAfter });
    const status = failNext.shift();
    if (status !== undefined) return json(response, status, { errors: ["failing on purpose"] });
    const q = url.searchParams;
    const product = (Object.keys(HlsCollectionIds) as HlsProduct[]).find(
      (p) => HlsCollectionIds[p] === q.get("collection_concept_id"),
    );
    const tile = TileAttribute.exec(q.get("attribute[]") ?? "")?.[1];
    const years = YearRange.exec(q.get("temporal") ?? "");
    if (url.pathname !== "/granules.umm_json" || !product || !tile || !years || years[1] !== years[2])
      return json(response, 400, { errors: [`unexpected search ${url.pathname}?${q}`] });
    if (q.get("page_size") !== "2000")
      return json(response, 400, { errors: ["page_size must be 2000 here"] });
    const index = searchAfter === undefined ? 0 : continuations.get(searchAfter);
    if (index === undefined) return json(response, 400, { errors: ["unknown CMR-Search-After"] });
    const pages = await pagesFor(product, tile, Number(years[1]));
    const page = pages[index];
    if (!page) return json(response, 200, { hits: pages[0]?.hits ?? 0, took: 3, items: [] });
    const next = JSON.stringify(["lpcloud", 1654031931000 + index, randomBytes(4).toString("hex")]);
    continuations.set(next, index + 1);
    json(response, 200, page, { "cmr-hits": String(page.hits), "cmr-search-after": next });
  });
  return { ...server, requests, failNext };
}

/** A umm_json page over granule ids, in the shape CMR gives (meta and umm, GranuleUR the id). */
export function cmrPages(ids: string[], pageSize: number): CmrPage[] {
  const pages: CmrPage[] = [];
  for (let i = 0; i < ids.length; i += pageSize) {
    pages.push({
      hits: ids.length,
      took: 5,
      items: ids.slice(i, i + pageSize).map((id, k) => ({
        meta: { "concept-type": "granule", "concept-id": `G${2400000000 + i + k}-LPCLOUD`, "native-id": id },
        umm: { GranuleUR: id },
      })),
    });
  }
  return pages;
}
