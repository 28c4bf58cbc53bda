import type { ClassId } from "../../lib/cdl/classes.ts";
import { Class } from "../../lib/cdl/classes.ts";
import { CdlEpsg, pixelCentresIn, transform } from "../../lib/grid/crs.ts";
import { FmaskBit, FmaskFill, HlsFill } from "../../lib/hls/fmask.ts";
import { sharedArray } from "../../lib/threads/task.pool.ts";
import type { Ground } from "./ground.ts";
import { cachedFbm, cachedValueNoise, fbm, latticeHash, mix32, unit } from "./hash.ts";
import type { Acquisition } from "./schedule.ts";
import { bareSpectrum, CloudSpectrum, greenness, greenSpectrum } from "./spectra.ts";

/** A window of an HLS tile's grid: the whole tile at full scale, a crop of it at small scale. */
export interface TileWindow {
  epsg: number;
  /** Upper-left corner of the window's first pixel, in the tile's UTM CRS. */
  origin: [number, number];
  width: number;
  height: number;
  pixelSize: number;
}

/** Clouds and swath edges are drawn on blocks of this many pixels: they need no 30 m detail. */
const Block = 4;

/** How fields of one class differ: the ranges per-field values are drawn from (uniformly). */
export const FieldVariation = {
  /** Days of phenology shift each way. */
  maxShift: 12,
  amplitude: [0.85, 1.05],
  brightness: [0.93, 1.07],
  /** Peak-to-peak share of the within-field texture. */
  texture: 0.02,
  /** Sensor noise, reflectance x 10000 each way. */
  noise: 1.5,
} as const;
const MaxShift = FieldVariation.maxShift;

/**
 * What the ground under each pixel of a window is; computed once per tile, reused for every date.
 * Held in shared memory, so the task threads that render the tile's granules read it in place.
 */
export interface TileGround {
  window: TileWindow;
  classes: Uint8Array;
  shift: Int8Array;
  amplitude: Float32Array;
  brightness: Float32Array;
  /** Hash of the 30 m CDL-grid cell under the pixel: the seed of its noise on every date. */
  cell: Uint32Array;
  blocksX: number;
  blocksY: number;
  /** EPSG:5070 coordinates of block centres. */
  blockX: Float64Array;
  blockY: Float64Array;
}

export function prepareTileGround(window: TileWindow, ground: Ground): TileGround {
  const { width, height } = window;
  const toAlbers = transform(window.epsg, CdlEpsg);
  const { x, y } = pixelCentresIn(window, toAlbers);
  const n = width * height;
  const classes = sharedArray(Uint8Array, n);
  const shift = sharedArray(Int8Array, n);
  const amplitude = sharedArray(Float32Array, n);
  const brightness = sharedArray(Float32Array, n);
  const cell = sharedArray(Uint32Array, n);
  const textureNoise = cachedValueNoise();
  for (let i = 0; i < n; i++) {
    const gx = x[i] as number;
    const gy = y[i] as number;
    const sample = ground.at(gx, gy);
    classes[i] = sample.classId;
    const p = sample.patch;
    shift[i] = Math.round((unit(mix32(p ^ 21)) - 0.5) * 2 * MaxShift);
    const [a0, a1] = FieldVariation.amplitude;
    const [b0, b1] = FieldVariation.brightness;
    amplitude[i] = a0 + (a1 - a0) * unit(mix32(p ^ 22));
    // Field-level brightness times a gentle within-field texture at about 200 m.
    const texture = 1 + FieldVariation.texture * (textureNoise(gx / 200, gy / 200, p & 0xffff) - 0.5);
    brightness[i] = (b0 + (b1 - b0) * unit(mix32(p ^ 23))) * texture;
    cell[i] = latticeHash(Math.floor(gx / 30), Math.floor(gy / 30), 0x5eed);
  }
  const blocksX = Math.ceil(width / Block);
  const blocksY = Math.ceil(height / Block);
  const blockX = sharedArray(Float64Array, blocksX * blocksY);
  const blockY = sharedArray(Float64Array, blocksX * blocksY);
  for (let by = 0; by < blocksY; by++) {
    for (let bx = 0; bx < blocksX; bx++) {
      const px = Math.min(width - 1, bx * Block + Block / 2);
      const py = Math.min(height - 1, by * Block + Block / 2);
      blockX[by * blocksX + bx] = x[py * width + px] as number;
      blockY[by * blocksX + bx] = y[py * width + px] as number;
    }
  }
  return { window, classes, shift, amplitude, brightness, cell, blocksX, blocksY, blockX, blockY };
}

/** What the catalogue says of a granule's pixels. */
export interface GranuleCover {
  /** Percent of valid pixels under cloud or cloud shadow, as the HLS catalogue reports it. */
  cloudCover: number;
  /** Percent of the window inside the swath. */
  spatialCoverage: number;
}

export interface RenderedGranule extends GranuleCover {
  /** Six model bands, int16 reflectance x 10000, HlsFill outside the swath. */
  bands: Int16Array[];
  fmask: Uint8Array;
}

/** Fraction quantiles of the cloud noise, to turn a target cloud share into a threshold. */
const cloudQuantiles = (() => {
  const values: number[] = [];
  for (let i = 0; i < 20_000; i++) values.push(fbm((i % 173) * 0.37, Math.floor(i / 173) * 0.41, 99));
  return values.sort((a, b) => a - b);
})();

function cloudThreshold(share: number): number {
  if (share <= 0) return Number.POSITIVE_INFINITY;
  return cloudQuantiles[
    Math.min(cloudQuantiles.length - 1, Math.floor((1 - share) * cloudQuantiles.length))
  ] as number;
}

const CloudScale = 7000;
/** Where a cloud's shadow falls relative to it (the sun is low in the south-east at overpass). */
const ShadowOffset: [number, number] = [900, -1100];
const AdjacentMargin = 0.035;

enum Sky {
  Clear = 0,
  Cloud = 1,
  Adjacent = 2,
  Shadow = 3,
  Fill = 4,
}

function skyBlocks(tg: TileGround, acquisition: Acquisition): Uint8Array {
  const sky = new Uint8Array(tg.blocksX * tg.blocksY);
  const threshold = cloudThreshold(acquisition.cloudTarget);
  const { swath } = acquisition;
  const cloudNoise = cachedFbm();
  const shadowNoise = cachedFbm();
  for (let b = 0; b < sky.length; b++) {
    const x = tg.blockX[b] as number;
    const y = tg.blockY[b] as number;
    if (swath && (x * Math.cos(swath.angle) + y * Math.sin(swath.angle) - swath.edge) * swath.side < 0) {
      sky[b] = Sky.Fill;
      continue;
    }
    if (threshold === Number.POSITIVE_INFINITY) continue;
    const c = cloudNoise(x / CloudScale, y / CloudScale, acquisition.salt);
    if (c >= threshold) sky[b] = Sky.Cloud;
    else if (c >= threshold - AdjacentMargin) sky[b] = Sky.Adjacent;
    else if (
      shadowNoise((x + ShadowOffset[0]) / CloudScale, (y + ShadowOffset[1]) / CloudScale, acquisition.salt) >=
      threshold
    ) {
      sky[b] = Sky.Shadow;
    }
  }
  return sky;
}

/** Greenness of every class at every per-field shift on one date: a small table instead of exp() per pixel. */
function greennessTable(doy: number): Float32Array {
  const table = new Float32Array(14 * (2 * MaxShift + 1));
  for (let c = 1; c <= 13; c++) {
    for (let s = -MaxShift; s <= MaxShift; s++)
      table[c * (2 * MaxShift + 1) + s + MaxShift] = greenness(c as ClassId, doy - s);
  }
  return table;
}

/** Per class and band, flat (class x 6 + band): the ground is (bare + span x greenness) x brightness. */
function classSpectra(): { bare: Float64Array; span: Float64Array } {
  const bare = new Float64Array(14 * 6);
  const span = new Float64Array(14 * 6);
  for (let c = 1; c <= 13; c++) {
    const lo = bareSpectrum(c as ClassId);
    const hi = greenSpectrum(c as ClassId);
    for (let b = 0; b < 6; b++) {
      bare[c * 6 + b] = lo[b] as number;
      span[c * 6 + b] = (hi[b] as number) - (lo[b] as number);
    }
  }
  return { bare, span };
}
const { bare, span } = classSpectra();

/**
 * What the sky does to a pixel, by Sky state: value = (mix x ground + over[band]) + noise x grain.
 * Clear is the ground plus noise; cloud is the cloud's spectrum with 8 times the noise; the ring
 * next to a cloud is 0.6 ground and 0.4 cloud; shadow darkens the ground to 0.45. Multiplying by
 * 1 and adding 0 change no bits, so one expression serves every state without a branch.
 */
const SkyMix = Float64Array.of(1, 0, 0.6, 0.45);
const SkyGrain = Float64Array.of(1, 8, 1, 1);
const SkyOver = Float64Array.of(
  ...[0, 0, 0, 0, 0, 0],
  ...CloudSpectrum,
  ...CloudSpectrum.map((v) => 0.4 * v),
  ...[0, 0, 0, 0, 0, 0],
);
/** Fmask bits of each sky state; a pixel adds its class's bits (water) to them. */
const SkyMask = Uint8Array.of(
  FmaskBit.AerosolLow,
  FmaskBit.AerosolLow | FmaskBit.Cloud,
  FmaskBit.AerosolLow | FmaskBit.Adjacent,
  FmaskBit.AerosolLow | FmaskBit.Shadow,
);

/** Above this every double is an integer, and v + 0.5 no longer rounds like Math.round. */
const Exact = 2 ** 52;

/**
 * Reflectance x 10000 as stored: rounded, then clamped to what the synthetic sensor records.
 *
 * The rounding is Math.round, bit for bit, without its cost: V8 rounds up and then steps back on a
 * branch that random fractions mispredict half the time, which made rounding most of the render.
 * floor(v + 0.5) has no branch and equals Math.round(v) for every v from 0.5 up to 2^52 (v + 0.5 is
 * exact there, or rounds without crossing an integer). Reflectance lies there; Math.round keeps
 * any other value exact.
 */
export function storedReflectance(v: number): number {
  const r = v >= 0.5 && v < Exact ? Math.floor(v + 0.5) : Math.round(v);
  return Math.max(-100, Math.min(16000, r));
}

/** Where a granule is rendered: six bands and Fmask of the window's size. */
export type GranulePixels = Pick<RenderedGranule, "bands" | "fmask">;

/** Arrays for a granule of `n` pixels; a caller that renders many reuses them (every pixel is written). */
export function granulePixels(n: number): GranulePixels {
  return { bands: Array.from({ length: 6 }, () => new Int16Array(n)), fmask: new Uint8Array(n) };
}

/**
 * One granule over a window: six bands and Fmask, from the prepared ground and the date's sky,
 * into `into` where given (a task thread's arrays, kept from granule to granule: fresh ones are
 * 170 MB a full granule to fault in and collect). This loop runs for every pixel of every granule,
 * so it is written for speed: locals, not property reads; the sky's terms looked up once a block;
 * the six bands unrolled; nothing allocated.
 */
export function renderGranule(
  tg: TileGround,
  acquisition: Acquisition,
  into: GranulePixels = granulePixels(tg.window.width * tg.window.height),
): RenderedGranule {
  const { width, height } = tg.window;
  const n = width * height;
  const [b0, b1, b2, b3, b4, b5] = into.bands as [
    Int16Array,
    Int16Array,
    Int16Array,
    Int16Array,
    Int16Array,
    Int16Array,
  ];
  const { fmask } = into;
  if (fmask.length !== n || into.bands.some((band) => band.length !== n))
    throw new Error(`granule arrays of ${fmask.length} px for a window of ${n} px`);
  const sky = skyBlocks(tg, acquisition);
  const g = greennessTable(acquisition.doy);
  const dateSalt = acquisition.salt;
  const shifts = 2 * MaxShift + 1;
  const { classes, shift, amplitude, brightness, cell, blocksX } = tg;
  // Module constants as locals: read in the pixel loop, each would be a context load and a check.
  const bareOf = bare;
  const spanOf = span;
  const water = Class.Water;
  const waterBit = FmaskBit.Water;
  let valid = 0;
  let cloudy = 0;
  for (let py = 0; py < height; py++) {
    const rowBlock = Math.floor(py / Block) * blocksX;
    // A run of blocks under the same sky at a time: its terms are looked up once for the run.
    for (let bx = 0; bx * Block < width; ) {
      const state = sky[rowBlock + bx] as Sky;
      let end = bx + 1;
      while (end * Block < width && sky[rowBlock + end] === state) end++;
      const from = py * width + bx * Block;
      const to = py * width + Math.min(width, end * Block);
      bx = end;
      if (state === Sky.Fill) {
        b0.fill(HlsFill, from, to);
        b1.fill(HlsFill, from, to);
        b2.fill(HlsFill, from, to);
        b3.fill(HlsFill, from, to);
        b4.fill(HlsFill, from, to);
        b5.fill(HlsFill, from, to);
        fmask.fill(FmaskFill, from, to);
        continue;
      }
      valid += to - from;
      if (state === Sky.Cloud || state === Sky.Shadow) cloudy += to - from;
      const mask = SkyMask[state] as number;
      const mix = SkyMix[state] as number;
      const grain = SkyGrain[state] as number;
      const o = state * 6;
      const o0 = SkyOver[o] as number;
      const o1 = SkyOver[o + 1] as number;
      const o2 = SkyOver[o + 2] as number;
      const o3 = SkyOver[o + 3] as number;
      const o4 = SkyOver[o + 4] as number;
      const o5 = SkyOver[o + 5] as number;
      for (let i = from; i < to; i++) {
        const c = classes[i] as number;
        fmask[i] = c === water ? mask | waterBit : mask;
        const green = (g[c * shifts + (shift[i] as number) + MaxShift] as number) * (amplitude[i] as number);
        const bright = brightness[i] as number;
        // Sensor noise: 2 bits a band from one hash of the ground cell and the date, +-1.5 x 1e-4. Small
        // on purpose: noise is what makes COGs big and slow to compress, and the model needs none.
        const bits = mix32((cell[i] as number) ^ dateSalt);
        const k = c * 6;
        b0[i] = storedReflectance(
          mix * (((bareOf[k] as number) + (spanOf[k] as number) * green) * bright) +
            o0 +
            ((bits & 3) - 1.5) * grain,
        );
        b1[i] = storedReflectance(
          mix * (((bareOf[k + 1] as number) + (spanOf[k + 1] as number) * green) * bright) +
            o1 +
            (((bits >>> 2) & 3) - 1.5) * grain,
        );
        b2[i] = storedReflectance(
          mix * (((bareOf[k + 2] as number) + (spanOf[k + 2] as number) * green) * bright) +
            o2 +
            (((bits >>> 4) & 3) - 1.5) * grain,
        );
        b3[i] = storedReflectance(
          mix * (((bareOf[k + 3] as number) + (spanOf[k + 3] as number) * green) * bright) +
            o3 +
            (((bits >>> 6) & 3) - 1.5) * grain,
        );
        b4[i] = storedReflectance(
          mix * (((bareOf[k + 4] as number) + (spanOf[k + 4] as number) * green) * bright) +
            o4 +
            (((bits >>> 8) & 3) - 1.5) * grain,
        );
        b5[i] = storedReflectance(
          mix * (((bareOf[k + 5] as number) + (spanOf[k + 5] as number) * green) * bright) +
            o5 +
            (((bits >>> 10) & 3) - 1.5) * grain,
        );
      }
    }
  }
  return {
    bands: [b0, b1, b2, b3, b4, b5],
    fmask,
    cloudCover: valid === 0 ? 100 : Math.round((cloudy / valid) * 1000) / 10,
    spatialCoverage: Math.round((valid / n) * 1000) / 10,
  };
}
