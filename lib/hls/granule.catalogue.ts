import { z } from "zod";
import type { Candidate } from "../contracts/granule.contract.ts";
import {
  formatGranuleId,
  type GranuleId,
  type HlsProduct,
  HlsProducts,
  parseGranuleId,
} from "../contracts/granule.id.ts";
import { TooLargeError } from "../errors/reader.errors.ts";
import { CmrRecordError, cmrGranuleFacts, MaxCmrRecordBytes, parseCmrXml } from "./cmr.xml.ts";
import type { HlsArchive } from "./hls.archive.ts";
import { cmrXmlKey, stacItemKey } from "./lpdaac.keys.ts";

/**
 * What the catalogue says of each granule, from the first source that has a record for it: the
 * granule's `cmr.xml` (the real protected layout), else a STAC item beside it (CMR-STAC's form).
 * A granule with no record, or a record that does not parse, that the parser refuses (too large,
 * too deep, entity declarations) or that contradicts its folder, is skipped with the reason: one
 * bad record must not fail a tile that other granules can map, nor be retried.
 */
export type CatalogueSource = "cmr.xml" | "stac";

export type CatalogueLookup =
  | { id: string; candidate: Candidate; source: CatalogueSource }
  | { id: string; candidate?: undefined; skipped: string };

const StacItemParser = z.object({
  id: z.string(),
  properties: z
    .object({
      "eo:cloud_cover": z.number().min(0).max(100),
      /** Our synthetic world writes it; CMR-STAC's items lack it, and then coverage counts as full. */
      "hls:spatial_coverage": z.number().min(0).max(100).optional(),
    })
    .passthrough(),
});

function fromCmrXml(granule: GranuleId, id: string, xml: string): Candidate {
  const record = parseCmrXml(xml);
  if (record.granuleUr !== id)
    throw new CmrRecordError(`GranuleUR '${record.granuleUr}' names another granule`);
  const facts = cmrGranuleFacts(record);
  if (facts.tileId !== granule.tileId)
    throw new CmrRecordError(`MGRS_TILE_ID '${facts.tileId}' is not the granule's tile ${granule.tileId}`);
  return { id, doy: granule.doy, cloudCover: facts.cloudCover, spatialCoverage: facts.spatialCoverage };
}

function fromStacItem(granule: GranuleId, id: string, json: string): Candidate {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new CmrRecordError(`not JSON: ${(error as Error).message}`);
  }
  const item = StacItemParser.safeParse(value);
  if (!item.success) throw new CmrRecordError(`not an HLS STAC item: ${item.error.issues[0]?.message}`);
  if (item.data.id !== id) throw new CmrRecordError(`item id '${item.data.id}' names another granule`);
  const p = item.data.properties;
  return {
    id,
    doy: granule.doy,
    cloudCover: p["eo:cloud_cover"],
    spatialCoverage: p["hls:spatial_coverage"] ?? 100,
  };
}

/** The catalogue record of one granule (by folder name), or why it is skipped. Archive errors propagate. */
export async function lookUpGranule(archive: HlsArchive, folder: string): Promise<CatalogueLookup> {
  let granule: GranuleId;
  try {
    granule = parseGranuleId(folder);
  } catch (error) {
    return { id: folder, skipped: (error as Error).message };
  }
  const id = formatGranuleId(granule);
  const sources: [CatalogueSource, string, typeof fromCmrXml][] = [
    ["cmr.xml", cmrXmlKey(granule), fromCmrXml],
    ["stac", stacItemKey(granule), fromStacItem],
  ];
  for (const [source, key, read] of sources) {
    try {
      // Both kinds of record are a few kB: a larger one is not read, let alone parsed.
      const text = await archive.getText(key, MaxCmrRecordBytes);
      if (text === undefined) continue;
      return { id, candidate: read(granule, id, text), source };
    } catch (error) {
      if (error instanceof CmrRecordError) return { id, skipped: `${archive.url(key)}: ${error.message}` };
      if (error instanceof TooLargeError) return { id, skipped: error.message };
      throw error;
    }
  }
  return { id, skipped: `no catalogue record (${archive.url(cmrXmlKey(granule))} or _stac.json)` };
}

/** Skipped granules named in a selection (and so in a tile's manifest); the count is always exact. */
const SkippedListed = 20;

/**
 * Every granule of a tile's year in the archive, of the products asked for, with its catalogue
 * record: the candidates, and the granules skipped for want of a usable record (the first few by name).
 */
export async function lookUpTileYear(
  archive: HlsArchive,
  tileId: string,
  year: number,
  products: readonly HlsProduct[] = HlsProducts,
) {
  const byProduct = await Promise.all(
    products.map(async (product) => {
      const folders = await archive.listGranules(product, tileId, year);
      return Promise.all(folders.map((folder) => lookUpGranule(archive, folder)));
    }),
  );
  const lookups = byProduct.flat();
  const candidates = lookups.flatMap((l) => (l.candidate ? [l.candidate] : []));
  const skipped = lookups.flatMap((l) => ("skipped" in l ? [{ id: l.id, reason: l.skipped }] : []));
  return { candidates, skipped: { count: skipped.length, granules: skipped.slice(0, SkippedListed) } };
}
