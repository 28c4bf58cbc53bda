import { CropClasses } from "../cdl/classes.ts";
import type { GridGeo } from "../contracts/grid.contract.ts";
import { CdlEpsg, transform } from "../grid/crs.ts";
import { gridBounds } from "../grid/lattice.ts";
import { densify, ringBounds } from "../grid/planar.ts";

/**
 * A run's outputs as a STAC catalogue (STAC 1.1.0): a Collection for the run, an Item per tile map
 * and one for the run's mosaic, so QGIS, a STAC browser or a tile server can open them. Hrefs are
 * relative (the catalogue moves with its folder); assets carry `proj`, `raster`, `file` and
 * `classification` fields.
 */
export const StacVersion = "1.1.0";
export const StacExtensions = {
  projection: "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
  raster: "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
  file: "https://stac-extensions.github.io/file/v2.1.0/schema.json",
  classification: "https://stac-extensions.github.io/classification/v2.0.0/schema.json",
} as const;

/** A file an Item points at: its href relative to the Item, and what the file extension records. */
export interface StacFile {
  href: string;
  sha256: string;
  bytes: number;
}

export interface MapAssets {
  classes: StacFile;
  confidence: StacFile;
}

export interface StacRunFacts {
  runId: string;
  region: string;
  year: number;
  /** The season the maps describe (ISO dates). */
  start: string;
  end: string;
  model: { name: string; sha256: string };
}

type Grid = GridGeo & { width: number; height: number };

const hex = (n: number) => n.toString(16).padStart(2, "0");
const classificationClasses = CropClasses.map((c) => ({
  value: c.id,
  name: c.name.toLowerCase().replace(/[^a-z0-9]+/g, "_"),
  description: c.name,
  color_hint: c.color.map(hex).join("").toUpperCase(),
}));

/** The file extension's checksum: a multihash of SHA-256 (code 0x12, length 0x20, digest). */
export function multihashSha256(sha256: string): string {
  return `1220${sha256}`;
}

/** A grid's outline in WGS 84 (densified, so the Albers edges keep their curve) and its bbox. */
export function footprint(grid: Grid): {
  geometry: { type: "Polygon"; coordinates: number[][][] };
  bbox: number[];
} {
  if (grid.epsg !== CdlEpsg)
    throw new Error(`STAC footprints are made from EPSG:${CdlEpsg} grids, not ${grid.epsg}`);
  const [x0, y0, x1, y1] = gridBounds(grid);
  const toLonLat = transform(CdlEpsg, 4326);
  const ring = densify(
    [
      [x0, y1],
      [x0, y0],
      [x1, y0],
      [x1, y1],
    ],
    grid.pixelSize * 256,
  ).map((p) => toLonLat.forward(p).map((v) => Math.round(v * 1e7) / 1e7));
  const closed = [...ring, ring[0] as number[]];
  return {
    geometry: { type: "Polygon", coordinates: [closed] },
    bbox: [...ringBounds(ring as [number, number][])],
  };
}

function projection(grid: Grid) {
  return {
    "proj:code": `EPSG:${grid.epsg}`,
    "proj:shape": [grid.height, grid.width],
    "proj:transform": [grid.pixelSize, 0, grid.origin[0], 0, -grid.pixelSize, grid.origin[1]],
  };
}

function mapAssets(files: MapAssets, resolution: number) {
  const cog = "image/tiff; application=geotiff; profile=cloud-optimized";
  const file = (f: StacFile) => ({ "file:checksum": multihashSha256(f.sha256), "file:size": f.bytes });
  return {
    classes: {
      href: files.classes.href,
      type: cog,
      title: "Crop classes",
      roles: ["data"],
      "raster:bands": [{ data_type: "uint8", nodata: 0, sampling: "area", spatial_resolution: resolution }],
      "classification:classes": classificationClasses,
      ...file(files.classes),
    },
    confidence: {
      href: files.confidence.href,
      type: cog,
      title: "Confidence of the predicted class (softmax, percent)",
      roles: ["data"],
      "raster:bands": [
        {
          data_type: "uint8",
          nodata: 255,
          unit: "percent",
          sampling: "area",
          spatial_resolution: resolution,
        },
      ],
      ...file(files.confidence),
    },
  };
}

function baseProperties(run: StacRunFacts) {
  return {
    datetime: null,
    start_datetime: `${run.start}T00:00:00Z`,
    end_datetime: `${run.end}T23:59:59Z`,
    "crop_map:run": run.runId,
    "crop_map:model": run.model.name,
    "crop_map:model_sha256": run.model.sha256,
  };
}

/** A tile map as an Item: its grid, the granules it was made of (links), its accuracy. */
export function tileItem(
  run: StacRunFacts,
  tile: { tileId: string; grid: Grid; granules: { id: string; href: string }[]; aAcc: number | null },
  files: MapAssets,
  links: { collection: string; self: string },
) {
  return {
    type: "Feature",
    stac_version: StacVersion,
    stac_extensions: Object.values(StacExtensions),
    id: `${run.runId}-${tile.tileId}`,
    collection: run.runId,
    ...footprint(tile.grid),
    properties: {
      ...baseProperties(run),
      ...projection(tile.grid),
      "crop_map:tile": tile.tileId,
      "crop_map:aAcc": tile.aAcc,
    },
    links: [
      { rel: "collection", href: links.collection, type: "application/json" },
      { rel: "parent", href: links.collection, type: "application/json" },
      { rel: "root", href: links.collection, type: "application/json" },
      { rel: "self", href: links.self, type: "application/geo+json" },
      ...tile.granules.map((g) => ({ rel: "derived_from", href: g.href, title: g.id })),
    ],
    assets: mapAssets(files, tile.grid.pixelSize),
  };
}

/**
 * A mosaic as an Item with its accuracy summary: the run's map (id `map`, with the report), or one
 * state's mosaic of a larger run (id its postal code). A run mosaicked by state describes its coarse
 * overview here and links the VRT over the state COGs.
 */
export function mosaicItem(
  run: StacRunFacts,
  mosaic: {
    id: string;
    title: string;
    grid: Grid;
    accuracy: { aAcc: number | null; mIoU: number | null; coverage: number | null };
  },
  files: MapAssets & { report?: string; accuracy?: string; vrt?: { classes: string; confidence: string } },
  links: { collection: string; self: string },
) {
  const metadata = (href: string, type: string, title: string) => ({
    href,
    type,
    title,
    roles: ["metadata"],
  });
  const vrt = (href: string, title: string) => ({ href, type: "application/xml", title, roles: ["data"] });
  return {
    type: "Feature",
    stac_version: StacVersion,
    stac_extensions: Object.values(StacExtensions),
    id: `${run.runId}-${mosaic.id}`,
    collection: run.runId,
    ...footprint(mosaic.grid),
    properties: {
      ...baseProperties(run),
      ...projection(mosaic.grid),
      title: mosaic.title,
      "crop_map:region": run.region,
      "crop_map:aAcc": mosaic.accuracy.aAcc,
      "crop_map:mIoU": mosaic.accuracy.mIoU,
      "crop_map:coverage": mosaic.accuracy.coverage,
    },
    links: [
      { rel: "collection", href: links.collection, type: "application/json" },
      { rel: "parent", href: links.collection, type: "application/json" },
      { rel: "root", href: links.collection, type: "application/json" },
      { rel: "self", href: links.self, type: "application/geo+json" },
    ],
    assets: {
      ...mapAssets(files, mosaic.grid.pixelSize),
      ...(files.vrt
        ? {
            classes_vrt: vrt(files.vrt.classes, "Crop classes at 30 m: GDAL VRT over the state COGs"),
            confidence_vrt: vrt(files.vrt.confidence, "Confidence at 30 m: GDAL VRT over the state COGs"),
          }
        : {}),
      ...(files.report ? { report: metadata(files.report, "text/html", "Report") } : {}),
      ...(files.accuracy
        ? { accuracy: metadata(files.accuracy, "application/json", "Accuracy against the CDL") }
        : {}),
    },
  };
}

/** The run as a Collection over its Items (hrefs relative to the collection file). */
export function runCollection(run: StacRunFacts, bbox: number[], items: string[], self: string) {
  return {
    type: "Collection",
    stac_version: StacVersion,
    stac_extensions: [StacExtensions.classification],
    id: run.runId,
    title: `Crop map: ${run.region} ${run.year}`,
    description: `Crop-type map of ${run.region} for the ${run.year} season, from NASA HLS with the ${run.model.name} model, scored against the USDA Cropland Data Layer.`,
    license: "other",
    extent: {
      spatial: { bbox: [bbox] },
      temporal: { interval: [[`${run.start}T00:00:00Z`, `${run.end}T23:59:59Z`]] },
    },
    summaries: { "classification:classes": classificationClasses, "crop_map:model": [run.model.name] },
    links: [
      { rel: "root", href: self, type: "application/json" },
      { rel: "self", href: self, type: "application/json" },
      ...items.map((href) => ({ rel: "item", href, type: "application/geo+json" })),
    ],
  };
}
