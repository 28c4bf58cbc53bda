import { z } from "zod";
import { type HlsProduct, parseGranuleId } from "../contracts/granule.id.ts";
import { shownUrl } from "../core/shown.url.ts";
import { DefaultRetry, type RetryOptions, withRetries } from "../earthdata/http.retry.ts";
import { ArchiveRequestError, httpStatusError } from "../errors/archive.errors.ts";

/** CMR collection concept ids of HLS v2.0 at LP DAAC (provider LPCLOUD). */
export const HlsCollectionIds: Record<HlsProduct, string> = {
  S30: "C2021957295-LPCLOUD",
  L30: "C2021957657-LPCLOUD",
};

/** CMR's largest page. */
const PageSize = 2000;

const CmrPageParser = z.object({ hits: z.number().int().nonnegative(), items: z.array(z.unknown()) });
const CmrItemParser = z.object({ umm: z.object({ GranuleUR: z.string() }) });

export interface CmrGranules {
  ids: string[];
  /** Entries left out, each with why: malformed, or not the product, tile and year asked for. */
  skipped: string[];
}

/** The granule search of one page, as CMR documents it (umm_json, one tile by its MGRS attribute, one year). */
export function cmrGranuleSearchUrl(
  cmrUrl: string,
  product: HlsProduct,
  tileId: string,
  year: number,
): string {
  const query = new URLSearchParams({
    collection_concept_id: HlsCollectionIds[product],
    "attribute[]": `string,MGRS_TILE_ID,${tileId}`,
    temporal: `${year}-01-01T00:00:00Z,${year}-12-31T23:59:59Z`,
    page_size: String(PageSize),
  });
  return `${cmrUrl}granules.umm_json?${query}`;
}

/**
 * Granule ids of one product, tile and year from NASA CMR's granule search, every page (paged
 * with the CMR-Search-After header). Each GranuleUR is checked as an HLS granule id of what was
 * asked for; the rest are skipped and reported, never passed on. CMR search is public: no login
 * is sent.
 */
export async function searchCmrGranules(
  cmrUrl: string,
  product: HlsProduct,
  tileId: string,
  year: number,
  retry: RetryOptions = DefaultRetry,
): Promise<CmrGranules> {
  const url = cmrGranuleSearchUrl(cmrUrl, product, tileId, year);
  const result: CmrGranules = { ids: [], skipped: [] };
  let searchAfter: string | undefined;
  for (;;) {
    const headers: Record<string, string> = { accept: "application/json" };
    if (searchAfter) headers["cmr-search-after"] = searchAfter;
    const page = await withRetries(async () => {
      const response = await fetch(url, { headers }).catch((error: { cause?: { code?: string } }) => {
        throw new ArchiveRequestError(
          `CMR granule search ${shownUrl(url)} unreachable (${error.cause?.code ?? String(error)})`,
        );
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw httpStatusError("CMR granule search", url, response);
      }
      const body = CmrPageParser.safeParse(await response.json().catch(() => undefined));
      if (!body.success) throw new Error(`CMR granule search ${shownUrl(url)} answered an unexpected body`);
      return { ...body.data, next: response.headers.get("cmr-search-after") ?? undefined };
    }, retry);

    for (const raw of page.items) {
      const item = CmrItemParser.safeParse(raw);
      if (!item.success) {
        result.skipped.push(`entry ${result.ids.length + result.skipped.length + 1}: no umm.GranuleUR`);
        continue;
      }
      const ur = item.data.umm.GranuleUR;
      try {
        const g = parseGranuleId(ur);
        if (g.product !== product || g.tileId !== tileId || g.year !== year)
          throw new Error(`'${ur}' is not ${product} T${tileId} ${year}`);
        result.ids.push(ur);
      } catch (error) {
        result.skipped.push((error as Error).message);
      }
    }
    const seen = result.ids.length + result.skipped.length;
    if (page.items.length === 0 || !page.next || seen >= page.hits) return result;
    searchAfter = page.next;
  }
}

/** A granule lister over CMR, for HlsArchive.listGranules; skipped entries are logged with why. */
export function cmrGranuleLister(cmrUrl: string) {
  return async (product: HlsProduct, tileId: string, year: number): Promise<string[]> => {
    const { ids, skipped } = await searchCmrGranules(cmrUrl, product, tileId, year);
    if (skipped.length > 0) {
      console.warn(
        `Archive:Cmr:Skipped product=${product} tile=${tileId} year=${year} skipped=${skipped.length} first=${JSON.stringify(skipped[0])}`,
      );
    }
    return ids;
  };
}
