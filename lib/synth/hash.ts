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

/**
 * Value noise in [0, 1): hashed values on an integer lattice, smoothly interpolated. Input is in
 * lattice units (metres divided by the feature scale).
 */
export function valueNoise(x: number, y: number, salt: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = smooth(x - x0);
  const fy = smooth(y - y0);
  const v00 = unit(latticeHash(x0, y0, salt));
  const v10 = unit(latticeHash(x0 + 1, y0, salt));
  const v01 = unit(latticeHash(x0, y0 + 1, salt));
  const v11 = unit(latticeHash(x0 + 1, y0 + 1, salt));
  return (v00 * (1 - fx) + v10 * fx) * (1 - fy) + (v01 * (1 - fx) + v11 * fx) * fy;
}

/** Two octaves of value noise: large shapes with ragged edges. */
export function fbm(x: number, y: number, salt: number): number {
  return (valueNoise(x, y, salt) * 2 + valueNoise(x * 3.1, y * 3.1, salt + 1)) / 3;
}
