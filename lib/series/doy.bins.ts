/**
 * The bundled series model's temporal resampling: every clear date's value spread onto fixed
 * day-of-year bins by a Gaussian kernel, each bin the kernel-weighted mean of the clear dates
 * (cloudy and padded dates weigh nothing). A season of any length and any dates becomes one
 * fixed-length vector. The ONNX graph (models/build/sits-tiny.build.ts) computes exactly this.
 */
export const DoyBins = {
  /** Bin centres: every `every` days from `first` to `last` (the default season, 04-01 to 10-31). */
  first: 91,
  last: 304,
  every: 14,
  /** Kernel width in days: a bin between two revisits still sees both. */
  sigma: 10,
  /** Added to each bin's weight: a bin far from every clear date tends to 0 (the band mean). */
  epsilon: 1e-6,
} as const;

export function binCentres(): number[] {
  const out: number[] = [];
  for (let d = DoyBins.first; d <= DoyBins.last + DoyBins.every / 2; d += DoyBins.every) out.push(d);
  return out;
}

/** `values` [T][6] (normalised), `doy` [T], `mask` [T] to bins x 6, bin-major. */
export function binSeason(values: Float64Array[], doy: number[], mask: number[]): Float64Array {
  const centres = binCentres();
  const out = new Float64Array(centres.length * 6);
  centres.forEach((c, j) => {
    let weight = DoyBins.epsilon;
    const sum = new Float64Array(6);
    values.forEach((v, t) => {
      const z = ((doy[t] as number) - c) / DoyBins.sigma;
      const w = Math.exp(-0.5 * z * z) * (mask[t] as number);
      weight += w;
      for (let b = 0; b < 6; b++) sum[b] = (sum[b] as number) + w * (v[b] as number);
    });
    for (let b = 0; b < 6; b++) out[j * 6 + b] = (sum[b] as number) / weight;
  });
  return out;
}
