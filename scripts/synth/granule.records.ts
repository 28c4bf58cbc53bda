import { acquisitionDate, formatGranuleId, type GranuleId } from "../../lib/contracts/granule.id.ts";
import { transform } from "../../lib/grid/crs.ts";
import { ModelBands } from "../../lib/hls/lpdaac.keys.ts";
import { CogContentType } from "../../lib/raster/cog.writer.ts";
import type { GranuleCover, TileWindow } from "./tile.render.ts";

/**
 * The catalogue records the synthetic world writes beside each granule's COGs, in the forms the
 * real archive has them: LP DAAC's ECHO 10 `cmr.xml` and the STAC item CMR-STAC serves.
 */

/** The granule window's corners as [lon, lat], closed, clockwise from the north-west. */
function footprint(window: TileWindow): number[][] {
  const t = transform(window.epsg, 4326);
  const x1 = window.origin[0] + window.width * window.pixelSize;
  const y1 = window.origin[1] - window.height * window.pixelSize;
  const corners: [number, number][] = [
    [window.origin[0], window.origin[1]],
    [x1, window.origin[1]],
    [x1, y1],
    [window.origin[0], y1],
    [window.origin[0], window.origin[1]],
  ];
  return corners.map((c) => t.forward(c).map((v) => Math.round(v * 1e6) / 1e6));
}

/** The catalogue entry of a granule, as CMR-STAC would serve it. */
export function stacItem(id: GranuleId, window: TileWindow, cover: GranuleCover) {
  const name = formatGranuleId(id);
  const bands = [...ModelBands[id.product], "Fmask"];
  return {
    type: "Feature",
    stac_version: "1.0.0",
    stac_extensions: [
      "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
      "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    ],
    id: name,
    collection: `HLS${id.product}_2.0`,
    geometry: { type: "Polygon", coordinates: [footprint(window)] },
    properties: {
      datetime: acquisitionDate(id).toISOString(),
      platform: id.product === "S30" ? "sentinel-2" : "landsat-8",
      "eo:cloud_cover": cover.cloudCover,
      "hls:spatial_coverage": cover.spatialCoverage,
      "proj:epsg": window.epsg,
      "proj:shape": [window.height, window.width],
      "proj:transform": [
        window.pixelSize,
        0,
        window.origin[0],
        0,
        -window.pixelSize,
        window.origin[1],
        0,
        0,
        1,
      ],
    },
    assets: Object.fromEntries(
      bands.map((band) => [band, { href: `./${name}.${band}.tif`, type: CogContentType }]),
    ),
  };
}

/**
 * The granule's ECHO 10 record as LP DAAC writes it: GranuleUR, the acquisition time, a 4-point
 * GPolygon and the HLS attributes. S30 records start with an XML declaration and L30 ones do not,
 * as both forms occur in the archive.
 */
export function cmrXml(id: GranuleId, window: TileWindow, cover: GranuleCover): string {
  const name = formatGranuleId(id);
  const time = acquisitionDate(id).toISOString();
  const attribute = (n: string, ...values: (string | number)[]) =>
    `    <AdditionalAttribute>\n      <Name>${n}</Name>\n      <Values>${values.map((v) => `<Value>${v}</Value>`).join("")}</Values>\n    </AdditionalAttribute>`;
  const points = footprint(window)
    .slice(0, 4)
    .map(
      ([lon, lat]) =>
        `<Point><PointLongitude>${lon}</PointLongitude><PointLatitude>${lat}</PointLatitude></Point>`,
    );
  const lines = [
    "<Granule>",
    `  <GranuleUR>${name}</GranuleUR>`,
    `  <Collection><ShortName>HLS${id.product}</ShortName><VersionId>${id.version}</VersionId></Collection>`,
    `  <Temporal><RangeDateTime><BeginningDateTime>${time}</BeginningDateTime><EndingDateTime>${time}</EndingDateTime></RangeDateTime></Temporal>`,
    `  <Spatial><HorizontalSpatialDomain><Geometry><GPolygon><Boundary>${points.join("")}</Boundary></GPolygon></Geometry></HorizontalSpatialDomain></Spatial>`,
    "  <AdditionalAttributes>",
    attribute("CLOUD_COVERAGE", cover.cloudCover),
    attribute("SPATIAL_COVERAGE", cover.spatialCoverage),
    attribute("MGRS_TILE_ID", id.tileId),
    attribute("SENSING_TIME", time),
    attribute("HORIZONTAL_CS_NAME", `UTM, WGS84, UTM ZONE ${window.epsg % 100}`),
    attribute("ULX", window.origin[0]),
    attribute("ULY", window.origin[1]),
    attribute("NCOLS", window.width),
    attribute("NROWS", window.height),
    attribute("SPATIAL_RESOLUTION", window.pixelSize),
    attribute("REF_SCALE_FACTOR", 0.0001),
    attribute("FILLVALUE", -9999),
    attribute("QA_FILLVALUE", 255),
    "  </AdditionalAttributes>",
    "</Granule>",
  ];
  const declaration = id.product === "S30" ? '<?xml version="1.0" encoding="UTF-8"?>\n' : "";
  return `${declaration}${lines.join("\n")}\n`;
}
