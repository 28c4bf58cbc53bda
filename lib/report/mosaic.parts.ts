import type { MosaicGrid } from "../contracts/grid.contract.ts";
import type { RegionSpec } from "../contracts/region.spec.ts";
import type { MosaicPart, ReportPlan } from "../contracts/report.contract.ts";
import { CdlEpsg, transform } from "../grid/crs.ts";
import { gridBounds, rectsOverlap, windowOf } from "../grid/lattice.ts";
import { densify, type Rect, type Ring } from "../grid/planar.ts";
import { resolveRegion } from "../region/region.ts";
import { type StateExtent, stateExtent } from "../region/state.extent.ts";
import { allStates, findState } from "../region/us.states.ts";
import { outsideCells } from "./outside.cells.ts";
import { quicklookStep } from "./quicklook.ts";

/** Part grids start on multiples of this many pixels from the run grid, so samples line up. */
const PartAlign = 512;
/** Longer side of the regional overview of a multi-state run, at most. */
const OverviewSide = 4096;

/** The region's outline in EPSG:5070, densified so projected edges keep their curve. */
export function regionRings(spec: RegionSpec): Ring[] {
  const toAlbers = transform(4326, CdlEpsg);
  return resolveRegion(spec).polygons.flatMap((polygon) =>
    polygon.map((ring) => densify(ring, 0.005).map((p) => toAlbers.forward(p))),
  );
}

/** The states a region is mosaicked by, in a fixed order (earlier states win shared border pixels). */
function partStates(spec: RegionSpec, bounds: Rect): StateExtent[] {
  const listed =
    spec.kind === "states"
      ? new Set(spec.states.map((s) => findState(s)?.postal))
      : new Set(allStates().map((s) => s.postal));
  return allStates()
    .filter((s) => listed.has(s.postal))
    .map(stateExtent)
    .filter((e) => rectsOverlap(e.bounds, bounds));
}

/** A power of two that keeps the regional overview's longer side at most OverviewSide. */
function overviewStep(grid: MosaicGrid): number {
  let step = 1;
  while (Math.max(grid.width, grid.height) / step > OverviewSide && step < PartAlign) step *= 2;
  return step;
}

/**
 * How a run's report is cut: a state run is one part written where the run's map always was; any
 * other region is one part per state it meets (under `states/<postal>/`), each mosaicked by an
 * activity of its own, then assembled. A bbox or polygon may also hold pixels outside every state
 * (coasts, lakes, over a national border): they are one more part per cell of OutsideCellSide
 * pixels that holds any (under `outside/<row>-<col>/`), its grid the box of those pixels. Parts
 * without a tile are left out.
 */
export function planParts(
  spec: RegionSpec,
  grid: MosaicGrid,
  tiles: { tileId: string; grid: MosaicGrid }[],
  prefix: string,
): ReportPlan {
  const ids = tiles.map((t) => t.tileId);
  if (spec.kind === "state")
    return {
      grid,
      sampleStep: quicklookStep(grid.width, grid.height),
      parts: [{ id: "region", name: resolveRegion(spec).name, prefix, grid, exclude: [], tiles: ids }],
    };
  const p = grid.pixelSize;
  const bounds = gridBounds(grid);
  const [gx0, , , gy1] = bounds;
  const states = partStates(spec, bounds);
  const parts: MosaicPart[] = [];
  for (const [i, extent] of states.entries()) {
    const [minX, minY, maxX, maxY] = extent.bounds;
    const col0 = Math.floor(Math.max(0, (minX - gx0) / p) / PartAlign) * PartAlign;
    const row0 = Math.floor(Math.max(0, (gy1 - maxY) / p) / PartAlign) * PartAlign;
    const col1 = Math.min(grid.width, Math.ceil((maxX - gx0) / p));
    const row1 = Math.min(grid.height, Math.ceil((gy1 - minY) / p));
    if (col1 <= col0 || row1 <= row0) continue;
    const part: MosaicGrid = {
      ...grid,
      origin: [grid.origin[0] + col0 * p, grid.origin[1] - row0 * p],
      width: col1 - col0,
      height: row1 - row0,
    };
    const reaching = tiles.filter((t) => windowOf(t.grid, part).window).map((t) => t.tileId);
    if (reaching.length === 0) continue;
    const { postal, name } = extent.state;
    parts.push({
      id: postal,
      name: `${name} (${postal})`,
      prefix: `${prefix}states/${postal}/`,
      grid: part,
      exclude: states
        .slice(0, i)
        .filter((e) => rectsOverlap(e.bounds, extent.bounds))
        .map((e) => e.state.postal),
      tiles: reaching,
    });
  }
  if (spec.kind === "bbox" || spec.kind === "polygon")
    parts.push(...outsideParts(spec, grid, states, tiles, prefix));
  return { grid, sampleStep: overviewStep(grid), parts };
}

/** The parts of a bbox or polygon region outside every state, one per cell that holds such pixels. */
function outsideParts(
  spec: RegionSpec,
  grid: MosaicGrid,
  states: StateExtent[],
  tiles: { tileId: string; grid: MosaicGrid }[],
  prefix: string,
): MosaicPart[] {
  const p = grid.pixelSize;
  const cells = outsideCells(
    grid,
    regionRings(spec),
    states.map((e) => e.rings.flat()),
  );
  return cells.flatMap(({ row, col, window }) => {
    // Aligned like the state parts, so the part's sample lies on the run's sample lattice.
    const col0 = Math.floor(window[0] / PartAlign) * PartAlign;
    const row0 = Math.floor(window[1] / PartAlign) * PartAlign;
    const part: MosaicGrid = {
      ...grid,
      origin: [grid.origin[0] + col0 * p, grid.origin[1] - row0 * p],
      width: window[2] - col0,
      height: window[3] - row0,
    };
    const reaching = tiles.filter((t) => windowOf(t.grid, part).window).map((t) => t.tileId);
    if (reaching.length === 0) return [];
    const bounds = gridBounds(part);
    return [
      {
        id: `outside-${row}-${col}`,
        name: `Outside the states (cell ${row}-${col})`,
        prefix: `${prefix}outside/${row}-${col}/`,
        grid: part,
        exclude: states.filter((e) => rectsOverlap(e.bounds, bounds)).map((e) => e.state.postal),
        tiles: reaching,
        outside: true as const,
      },
    ];
  });
}

/**
 * The clip of a part: a state part is inside its state and outside the earlier states that meet
 * it; an outside part is outside every state that meets it.
 */
export function partClip(part: MosaicPart): { within?: Ring[]; without: Ring[][] } | undefined {
  if (part.id === "region") return undefined;
  const rings = (postal: string) =>
    stateExtent(findState(postal) as NonNullable<ReturnType<typeof findState>>).rings.flat();
  const without = part.exclude.map(rings);
  return part.outside ? { without } : { within: rings(part.id), without };
}
