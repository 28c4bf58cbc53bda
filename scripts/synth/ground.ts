import { Class, type ClassId } from "../../lib/cdl/classes.ts";
import { seededRandom } from "../../lib/random.ts";
import { cachedFbm, fbm, hashInts, latticeHash, mix32, unit } from "./hash.ts";
import type { LandscapeProfile } from "./profiles.ts";

/** Side of a field cell (a quarter section is half a mile); a cell holds one or two fields. */
const FieldCell = 800;
/** Scale of land-cover patches (forest, lakes, wetlands) and of towns. */
const CoverScale = 9000;
const TownScale = 5000;

/** What the ground is at one point: its class and the patch (field, wood, lake) it belongs to. */
export interface GroundSample {
  classId: ClassId;
  /** Stable id of the patch; drives per-field variation and the CDL code. */
  patch: number;
}

/**
 * The synthetic ground of a world, as a pure function of a point in EPSG:5070 metres: the same
 * point gives the same answer whoever asks (the CDL writer, every tile that covers it).
 */
export interface Ground {
  at(x: number, y: number): GroundSample;
}

/** Quantiles of a noise function, so thresholds can hit target area fractions. */
function noiseQuantiles(noise: (x: number, y: number) => number, seed: number): Float64Array {
  const random = seededRandom(seed);
  const values = new Float64Array(20_000);
  for (let i = 0; i < values.length; i++) values[i] = noise(random() * 1e4, random() * 1e4);
  return values.sort();
}

function quantile(sorted: Float64Array, p: number): number {
  if (p <= 0) return Number.NEGATIVE_INFINITY;
  if (p >= 1) return Number.POSITIVE_INFINITY;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

/** Non-crop covers in order of rising cover noise: lakes sit inside wetlands inside woods. */
const CoverOrder: ClassId[] = [Class.Water, Class.Wetlands, Class.Forest, Class.NaturalVegetation];

export function createGround(profile: LandscapeProfile, seed: number): Ground {
  const townSalt = hashInts(seed, 1);
  const coverSalt = hashInts(seed, 2);
  const fieldSalt = hashInts(seed, 3);
  const townShare = profile.cover[Class.Developed] ?? 0;
  const townThreshold = quantile(
    noiseQuantiles((x, y) => fbm(x, y, townSalt), seed),
    1 - townShare,
  );
  const coverQuantiles = noiseQuantiles((x, y) => fbm(x, y, coverSalt), seed + 1);
  // Shares among land that is not town (the two noises are independent).
  let cumulative = 0;
  const coverThresholds = CoverOrder.map((classId) => {
    cumulative += (profile.cover[classId] ?? 0) / (1 - townShare);
    return { classId, below: quantile(coverQuantiles, cumulative) };
  });
  const cropCumulative: { classId: ClassId; upTo: number }[] = [];
  let sum = 0;
  for (const [id, share] of Object.entries(profile.crops)) {
    sum += share;
    cropCumulative.push({ classId: Number(id) as ClassId, upTo: sum });
  }

  // Asked point after point in raster order (a tile's pixels, the labels' rows): cached noises.
  const townNoise = cachedFbm();
  const coverNoise = cachedFbm();
  return {
    at(x, y) {
      const coarseI = Math.floor(x / 2000);
      const coarseJ = Math.floor(y / 2000);
      if (townNoise(x / TownScale, y / TownScale, townSalt) >= townThreshold) {
        return { classId: Class.Developed, patch: latticeHash(coarseI, coarseJ, townSalt) };
      }
      const cover = coverNoise(x / CoverScale, y / CoverScale, coverSalt);
      for (const t of coverThresholds) {
        if (cover < t.below)
          return { classId: t.classId, patch: latticeHash(coarseI, coarseJ, coverSalt + t.classId) };
      }
      // Cropland: a grid of field cells, some split in two along a hashed line.
      const i = Math.floor(x / FieldCell);
      const j = Math.floor(y / FieldCell);
      const cellHash = latticeHash(i, j, fieldSalt);
      let part = 0;
      const split = cellHash & 3;
      const at = 0.3 + 0.4 * unit(mix32(cellHash ^ 7));
      if (split === 1) part = x - i * FieldCell < at * FieldCell ? 1 : 2;
      else if (split === 2) part = y - j * FieldCell < at * FieldCell ? 1 : 2;
      const patch = mix32(cellHash + part);
      const u = unit(mix32(patch ^ 11)) * sum;
      const crop = cropCumulative.find((c) => u < c.upTo) ?? cropCumulative[cropCumulative.length - 1];
      return { classId: crop?.classId ?? Class.Other, patch };
    },
  };
}
