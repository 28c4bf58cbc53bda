import { formatGranuleId, type GranuleId, type HlsProduct, parseGranuleId } from "../contracts/granule.id.ts";

/** Bands as LP DAAC names them, per product; Fmask is the quality layer. */
export const ProductBands = {
  S30: ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12", "Fmask"],
  L30: ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B09", "B10", "B11", "Fmask"],
} as const satisfies Record<HlsProduct, readonly string[]>;

/** The six model bands (Blue, Green, Red, NIR narrow, SWIR1, SWIR2) in each product's names. */
export const ModelBands = {
  S30: ["B02", "B03", "B04", "B8A", "B11", "B12"],
  L30: ["B02", "B03", "B04", "B05", "B06", "B07"],
} as const satisfies Record<HlsProduct, readonly string[]>;

/** LP DAAC collection folder: HLSS30.020 for v2.0 S30. */
export function collectionFolder(product: HlsProduct, version: string): string {
  const [major, minor] = version.split(".");
  return `HLS${product}.${String(major).padStart(2, "0")}${minor}`;
}

/** Key of one band's COG relative to the archive root: `HLSS30.020/<granule>/<granule>.<band>.tif`. */
export function bandKey(granule: GranuleId, band: string): string {
  const bands: readonly string[] = ProductBands[granule.product];
  if (!bands.includes(band)) throw new Error(`band '${band}' does not exist in HLS ${granule.product}`);
  return granuleFileKey(granule, `.${band}.tif`);
}

/** Inverse of bandKey: the granule and band a key names. */
export function parseBandKey(key: string): { granule: GranuleId; band: string } {
  const match = /^(HLS(S30|L30)\.\d{3})\/([^/]+)\/([^/]+)\.([A-Za-z0-9]+)\.tif$/.exec(key);
  if (!match)
    throw new Error(`'${key}' is not an LP DAAC HLS band key (<collection>/<granule>/<granule>.<band>.tif)`);
  const [, folder, , dir, file, band] = match as unknown as string[];
  if (dir !== file) throw new Error(`'${key}': folder '${dir}' and file '${file}' name different granules`);
  const granule = parseGranuleId(dir as string);
  if (collectionFolder(granule.product, granule.version) !== folder) {
    throw new Error(`'${key}': granule ${dir} does not belong in collection ${folder}`);
  }
  bandKey(granule, band as string);
  return { granule, band: band as string };
}

/** Key of a file in a granule's folder: `HLSS30.020/<granule>/<granule><suffix>`. */
function granuleFileKey(granule: GranuleId, suffix: string): string {
  const id = formatGranuleId(granule);
  return `${collectionFolder(granule.product, granule.version)}/${id}/${id}${suffix}`;
}

/** The granule's ECHO 10 record, as LP DAAC keeps it beside the bands in lp-prod-protected. */
export function cmrXmlKey(granule: GranuleId): string {
  return granuleFileKey(granule, ".cmr.xml");
}

/** A STAC item for the granule (the form CMR-STAC serves), where an archive keeps one beside the bands. */
export function stacItemKey(granule: GranuleId): string {
  return granuleFileKey(granule, "_stac.json");
}

/** Prefix under which one tile's granules of one product and year sit (for listing). */
export function tileYearPrefix(product: HlsProduct, tileId: string, year: number, version = "2.0"): string {
  return `${collectionFolder(product, version)}/HLS.${product}.T${tileId}.${year}`;
}
