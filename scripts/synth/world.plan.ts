import { dayOfYear } from "../../lib/core/day.of.year.ts";
import { CdlEpsg, transform } from "../../lib/grid/crs.ts";
import { type PixelGrid, snapToNationalGrid } from "../../lib/grid/lattice.ts";
import {
  densify,
  type Point,
  type Ring,
  rectContains,
  ringBounds,
  ringsContain,
} from "../../lib/grid/planar.ts";
import type { HlsTile } from "../../lib/grid/tile.table.ts";
import { RegionError, resolveRegion } from "../../lib/region/region.ts";
import { stateExtent } from "../../lib/region/state.extent.ts";
import { tilesForRegion } from "../../lib/region/tile.cover.ts";
import { findState } from "../../lib/region/us.states.ts";
import { type Acquisition, acquisitions } from "./schedule.ts";
import type { TileWindow } from "./tile.render.ts";
import { type SynthInput, SynthScales } from "./world.spec.ts";

export interface PlannedTile {
  tile: HlsTile;
  window: TileWindow;
  /** Window offset inside the full tile, in pixels. */
  offset: [number, number];
  centreLon: number;
  acquisitions: Acquisition[];
}

export interface WorldPlan {
  input: SynthInput;
  postal: string;
  fips: string;
  stateName: string;
  /** State outline in EPSG:5070. */
  albersRings: Ring[][];
  tiles: PlannedTile[];
  /** The CDL raster's grid (EPSG:5070, snapped to the national CDL grid). */
  cdl: PixelGrid;
}

/** Points of the region to centre small windows on: a lattice inside it plus its outline. */
function regionSamples(polygons: Ring[][]): Point[] {
  const out: Point[] = [];
  for (const polygon of polygons) {
    const [w, s, e, n] = ringBounds(polygon[0] ?? []);
    for (let lon = w; lon <= e; lon += 0.02) {
      for (let lat = s; lat <= n; lat += 0.02) if (ringsContain(polygon, [lon, lat])) out.push([lon, lat]);
    }
    out.push(...densify(polygon[0] ?? [], 0.01));
  }
  return out;
}

/** A window of `size` pixels over the part of the tile nearest its centre that lies in the region. */
function smallWindow(
  tile: HlsTile,
  size: number,
  samples: Point[],
): { window: TileWindow; offset: [number, number] } {
  const toUtm = transform(4326, tile.epsg);
  const inside = samples.map((p) => toUtm.forward(p)).filter((p) => rectContains(tile.bounds, p));
  const cx = (tile.bounds[0] + tile.bounds[2]) / 2;
  const cy = (tile.bounds[1] + tile.bounds[3]) / 2;
  const best = inside.reduce<Point>(
    (a, p) => (Math.hypot(p[0] - cx, p[1] - cy) < Math.hypot(a[0] - cx, a[1] - cy) ? p : a),
    inside[0] ?? [cx, cy],
  );
  const col = Math.round((best[0] - tile.origin[0]) / tile.pixelSize - size / 2);
  const row = Math.round((tile.origin[1] - best[1]) / tile.pixelSize - size / 2);
  const x = Math.max(0, Math.min(tile.width - size, col));
  const y = Math.max(0, Math.min(tile.height - size, row));
  return {
    offset: [x, y],
    window: {
      epsg: tile.epsg,
      origin: [tile.origin[0] + x * tile.pixelSize, tile.origin[1] - y * tile.pixelSize],
      width: size,
      height: size,
      pixelSize: tile.pixelSize,
    },
  };
}

/** Everything a world will be, decided before anything is written; bad input throws here. */
export function planWorld(input: SynthInput): WorldPlan {
  const state = findState(input.state);
  if (!state)
    throw new RegionError(`unknown state '${input.state}': use a postal code (IA) or a name (Iowa)`);
  const region = resolveRegion({ kind: "state", state: state.postal });
  const hlsTiles = tilesForRegion(region);
  if (hlsTiles.length === 0) throw new RegionError(`${region.name} touches no HLS tile`);
  const startDoy = dayOfYear(input.year, input.season.start);
  const endDoy = dayOfYear(input.year, input.season.end);
  if (endDoy <= startDoy)
    throw new RegionError(`season ${input.season.start}..${input.season.end} ends before it starts`);

  const { rings: albersRings, bounds: stateBox } = stateExtent(state);
  const swathCentre = (() => {
    const [x0, y0, x1, y1] = stateBox;
    return ((x0 + x1) / 2) * Math.cos(0.21) + ((y0 + y1) / 2) * Math.sin(0.21);
  })();
  const size = SynthScales[input.scale].tilePixels;
  const samples = input.scale === "small" ? regionSamples(region.polygons) : [];
  const tiles = hlsTiles.map((tile): PlannedTile => {
    const { window, offset } =
      size >= tile.width
        ? {
            window: {
              epsg: tile.epsg,
              origin: tile.origin,
              width: tile.width,
              height: tile.height,
              pixelSize: tile.pixelSize,
            },
            offset: [0, 0] as [number, number],
          }
        : smallWindow(tile, size, samples);
    const centre = transform(tile.epsg, 4326).forward([
      window.origin[0] + (window.width * window.pixelSize) / 2,
      window.origin[1] - (window.height * window.pixelSize) / 2,
    ]);
    return {
      tile,
      window,
      offset,
      centreLon: centre[0],
      acquisitions: acquisitions(input.year, startDoy, endDoy, input.scale, input.seed, swathCentre),
    };
  });

  // Labels over the state at full scale; over the tile windows (within the state's box) at small scale.
  let box = stateBox;
  if (input.scale === "small") {
    const corners = tiles.flatMap(({ window: w }) => {
      const t = transform(w.epsg, CdlEpsg);
      const x1 = w.origin[0] + w.width * w.pixelSize;
      const y0 = w.origin[1] - w.height * w.pixelSize;
      return densify(
        [
          [w.origin[0], y0],
          [x1, y0],
          [x1, w.origin[1]],
          [w.origin[0], w.origin[1]],
        ],
        1000,
      ).map((p) => t.forward(p));
    });
    const b = ringBounds(corners);
    box = [
      Math.max(b[0], stateBox[0]),
      Math.max(b[1], stateBox[1]),
      Math.min(b[2], stateBox[2]),
      Math.min(b[3], stateBox[3]),
    ];
  }
  return {
    input,
    postal: state.postal,
    fips: state.fips,
    stateName: state.name,
    albersRings,
    tiles,
    cdl: snapToNationalGrid(box),
  };
}
