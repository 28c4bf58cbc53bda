import type { ClassArea } from "../../accuracy/class.areas.ts";

/** What the server tells the map page about a run: everything is in EPSG:5070 metres. */
export interface ViewerConfig {
  runId: string;
  /** proj4 definition of EPSG:5070, registered in the page. */
  albers: string;
  /**
   * map.tif, or for a region mosaicked state by state its overview (a pixel per 64 or fewer), read by
   * the page with ranged GETs; null before the run has written it.
   */
  map: { url: string; extent: Extent; overview: boolean } | null;
  /** Quicklook PNGs on the map's grid (disagreement.png, the CDL labels), with where they lie. */
  overlays: { id: "labels" | "disagreement"; url: string; extent: Extent }[];
  /** The region's outline (every ring of its polygons), null for a region that no longer resolves. */
  region: { name: string; rings: [number, number][][] } | null;
  /** Each tile's footprint cut to the map's extent (a tile reaches far past a state's map). */
  tiles: { tileId: string; state: string; reason?: string; ring: [number, number][] }[];
  /** Tile labels at the centres of their drawn parts; tiles on the same ground share one, a line each. */
  labels: { at: [number, number]; lines: string[] }[];
  /** Each class's mapped and CDL area over the same pixels (accuracy.json), null before the run wrote it. */
  areas: { pixelSize: number; classes: ClassArea[] } | null;
  /** Class id to RGB, index = class id (0: no data). */
  palette: [number, number, number][];
  pixelUrl: string;
}

export type Extent = [minX: number, minY: number, maxX: number, maxY: number];

/** The region's outline: a colour no class and no tile state uses. */
export const RegionColour = "#8250df";

/** Outline colours by tile state, shared by the map and the tile list. */
export const TileStateColours: Record<string, string> = {
  done: "#1a7f37",
  failed: "#d1242f",
  running: "#0969da",
  pending: "#6e7781",
  unknown: "#6e7781",
};
