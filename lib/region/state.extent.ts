import { CdlEpsg, transform } from "../grid/crs.ts";
import { type PixelGrid, rectsOverlap, snapToNationalGrid } from "../grid/lattice.ts";
import { densify, type Rect, type Ring, ringBounds } from "../grid/planar.ts";
import { type Region, resolveRegion } from "./region.ts";
import { allStates, type UsState } from "./us.states.ts";

/** What a state's CDL raster covers: its outline in EPSG:5070 and its box on the national CDL grid. */
export interface StateExtent {
  state: UsState;
  /** Polygons (outer ring, then holes) in EPSG:5070, densified so projected edges keep their curve. */
  rings: Ring[][];
  bounds: Rect;
  grid: PixelGrid;
}

/** A region's polygons (outer ring, then holes) in EPSG:5070, densified so projected edges keep their curve. */
export function albersPolygons(region: Region): Ring[][] {
  const toAlbers = transform(4326, CdlEpsg);
  return region.polygons.map((polygon) =>
    polygon.map((ring) => densify(ring, 0.01).map((p) => toAlbers.forward(p))),
  );
}

/**
 * One definition for everything that cuts labels to a state (the synthetic world, `cdl import`):
 * rasterising these rings on the national grid gives the same pixels wherever it is done.
 */
export function stateExtent(state: UsState): StateExtent {
  const rings = albersPolygons(resolveRegion({ kind: "state", state: state.postal }));
  const bounds = ringBounds(rings.flatMap((polygon) => polygon[0] ?? []));
  return { state, rings, bounds, grid: snapToNationalGrid(bounds) };
}

/** The states whose outline box meets `bounds` (EPSG:5070), each with its rings, for per-state rollups. */
export function statesMeeting(bounds: Rect): { name: string; rings: Ring[] }[] {
  return allStates()
    .map(stateExtent)
    .filter((e) => rectsOverlap(e.bounds, bounds))
    .map((e) => ({ name: `${e.state.name} (${e.state.postal})`, rings: e.rings.flat() }));
}
