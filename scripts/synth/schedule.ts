import type { GranuleId, HlsProduct } from "../../lib/contracts/granule.id.ts";
import type { HlsTile } from "../../lib/grid/tile.table.ts";
import { FirstS30Year } from "../../lib/hls/hls.years.ts";
import { hashInts, unit } from "./hash.ts";
import { type SynthScale, SynthScales } from "./world.spec.ts";

/** What the sky and the orbit do on one acquisition date; the same for every tile that day. */
export interface Acquisition {
  product: HlsProduct;
  doy: number;
  /** Seeds the cloud field of that date. */
  salt: number;
  /** Target share of the scene under cloud, 0..1. */
  cloudTarget: number;
  /** A swath edge in EPSG:5070, or none when the swath covers everything. */
  swath?: { angle: number; edge: number; side: 1 | -1 };
}

/** Local mean solar time of the overpass: Sentinel-2 about 10:30, Landsat about 10:10. */
const OverpassHours: Record<HlsProduct, number> = { S30: 10.5, L30: 10.17 };

function cloudTarget(u: number): number {
  if (u < 0.45) return 0;
  if (u < 0.7) return 0.01 + (u - 0.45) * 0.16;
  if (u < 0.9) return 0.05 + (u - 0.7) * 1.75;
  return 0.4 + (u - 0.9) * 5.5;
}

/**
 * Acquisition dates over a season: each sensor revisits on a fixed cadence, the same
 * days for every tile of the world, so overlapping tiles see the same sky on the same date.
 */
export function acquisitions(
  year: number,
  startDoy: number,
  endDoy: number,
  scale: SynthScale,
  seed: number,
  swathCentre: number,
): Acquisition[] {
  const preset = SynthScales[scale];
  const out: Acquisition[] = [];
  const products: HlsProduct[] = year >= FirstS30Year ? ["S30", "L30"] : ["L30"];
  for (const product of products) {
    const cadence = product === "S30" ? preset.s30EveryDays : preset.l30EveryDays;
    const phase = hashInts(seed, product === "S30" ? 1 : 2) % cadence;
    for (let doy = startDoy + phase; doy <= endDoy; doy += cadence) {
      const salt = hashInts(seed, year, doy, product === "S30" ? 30 : 31);
      const partial = unit(hashInts(salt, 2)) < (product === "S30" ? 0.3 : 0.15);
      out.push({
        product,
        doy,
        salt,
        cloudTarget: cloudTarget(unit(hashInts(salt, 1))),
        ...(partial
          ? {
              swath: {
                angle: product === "S30" ? 0.21 : 0.24,
                edge: swathCentre + (unit(hashInts(salt, 3)) - 0.5) * 160_000,
                side: unit(hashInts(salt, 4)) < 0.5 ? 1 : -1,
              },
            }
          : {}),
      });
    }
  }
  return out.sort((a, b) => a.doy - b.doy || a.product.localeCompare(b.product));
}

/** The granule id of an acquisition over a tile, with a plausible overpass time in UTC. */
export function granuleIdFor(
  tile: HlsTile,
  year: number,
  acquisition: Acquisition,
  centreLon: number,
): GranuleId {
  const hours =
    OverpassHours[acquisition.product] - centreLon / 15 + (unit(hashInts(acquisition.salt, 5)) - 0.5) * 0.05;
  const seconds = Math.floor(hours * 3600);
  const hh = String(Math.floor(seconds / 3600)).padStart(2, "0");
  const mm = String(Math.floor((seconds % 3600) / 60)).padStart(2, "0");
  const ss = String(seconds % 60).padStart(2, "0");
  return {
    product: acquisition.product,
    tileId: tile.tileId,
    year,
    doy: acquisition.doy,
    time: `${hh}${mm}${ss}`,
    version: "2.0",
  };
}
