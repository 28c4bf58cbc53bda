/** Integer hashing for a generated world: every value is a pure function of its coordinates and the seed. */

/** 32-bit avalanche mix (murmur3 finaliser). */
export function mix32(value: number): number {
  let x = value | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hash of several integers, order-sensitive. */
export function hashInts(...values: number[]): number {
  let h = 0x811c9dc5;
  for (const v of values) h = mix32(h ^ mix32(v + 0x9e3779b9));
  return h;
}

/** A hash mapped to [0, 1). */
export function unit(hash: number): number {
  return hash / 4294967296;
}

/** Hash of a string (for salts like a state code). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return mix32(h);
}

/** One-round hash of a lattice point: cheaper than hashInts where it runs per pixel. */
export function latticeHash(ix: number, iy: number, salt: number): number {
  return mix32(Math.imul(ix, 0x27d4eb2d) ^ Math.imul(iy, 0x165667b1) ^ salt);
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/** Noise in [0, 1) at a point in lattice units (metres divided by the feature scale), for a salt. */
export type Noise = (x: number, y: number, salt: number) => number;

/** The smooth blend of a lattice cell's four corner values at (x, y), the cell's corner at (x0, y0). */
function blend(x: number, y: number, x0: number, y0: number, corners: Float64Array): number {
  const fx = smooth(x - x0);
  const fy = smooth(y - y0);
  // Read by index: destructuring a typed array goes through its iterator.
  const v00 = corners[0] as number;
  const v10 = corners[1] as number;
  const v01 = corners[2] as number;
  const v11 = corners[3] as number;
  return (v00 * (1 - fx) + v10 * fx) * (1 - fy) + (v01 * (1 - fx) + v11 * fx) * fy;
}

function latticeCorners(x0: number, y0: number, salt: number, into: Float64Array): void {
  into[0] = unit(latticeHash(x0, y0, salt));
  into[1] = unit(latticeHash(x0 + 1, y0, salt));
  into[2] = unit(latticeHash(x0, y0 + 1, salt));
  into[3] = unit(latticeHash(x0 + 1, y0 + 1, salt));
}

const scratchCorners = new Float64Array(4);

/**
 * Value noise in [0, 1): hashed values on an integer lattice, smoothly interpolated. Input is in
 * lattice units (metres divided by the feature scale).
 */
export function valueNoise(x: number, y: number, salt: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  latticeCorners(x0, y0, salt, scratchCorners);
  return blend(x, y, x0, y0, scratchCorners);
}

/**
 * valueNoise that keeps the corner values of the last cell it was asked in: points asked in
 * raster order mostly fall in that cell again (a cell spans 200 m to 9 km, a pixel 30 m), so
 * their four hashes are not redone. Same values as valueNoise; each caller makes its own.
 */
export function cachedValueNoise(): Noise {
  const corners = new Float64Array(4);
  let cx = Number.NaN;
  let cy = Number.NaN;
  let cs = Number.NaN;
  return (x, y, salt) => {
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    if (x0 !== cx || y0 !== cy || salt !== cs) {
      latticeCorners(x0, y0, salt, corners);
      cx = x0;
      cy = y0;
      cs = salt;
    }
    return blend(x, y, x0, y0, corners);
  };
}

/** Two octaves of a noise: large shapes with ragged edges. */
function octaves(first: Noise, second: Noise): Noise {
  return (x, y, salt) => (first(x, y, salt) * 2 + second(x * 3.1, y * 3.1, salt + 1)) / 3;
}

/** Two octaves of value noise: large shapes with ragged edges. */
export const fbm: Noise = octaves(valueNoise, valueNoise);

/** fbm with a cached valueNoise per octave (see cachedValueNoise); each caller makes its own. */
export function cachedFbm(): Noise {
  return octaves(cachedValueNoise(), cachedValueNoise());
}
