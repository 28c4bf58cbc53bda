/**
 * The seed's rule for keeping a chip (ClarkCGA workflow.ipynb), and its clip of the bands.
 * The valid Fmask values are clear, adjacent-to-cloud, water and the aerosol levels; cloud (2),
 * shadow (8), snow (16) and the fill 255 are not.
 */
export const ValidFmask: ReadonlySet<number> = new Set([
  0, 4, 32, 36, 64, 68, 96, 100, 128, 132, 160, 164, 192, 196, 224, 228,
]);

/** A date's most frequent invalid Fmask value must cover less than this share of the chip. */
export const MaxInvalidShare = 0.05;

/** The band value the seed's code counts as bad (not the fill -9999, which passes and becomes 0). */
export const BadMarker = -1000;

export type ChipVerdict = "keep" | "qa" | "marker" | "unlabelled";

/** The share of the chip under the most frequent Fmask value outside the valid set. */
export function worstInvalidShare(fmask: Uint8Array): number {
  const counts = new Uint32Array(256);
  for (const v of fmask) counts[v] = (counts[v] as number) + 1;
  let worst = 0;
  for (let v = 0; v < 256; v++) if (!ValidFmask.has(v)) worst = Math.max(worst, counts[v] as number);
  return fmask.length ? worst / fmask.length : 0;
}

/**
 * Kept when, on every date, the worst invalid Fmask value covers < 5 %, no band pixel is -1000,
 * and the chip has a labelled pixel; the first rule broken is the verdict.
 */
export function judgeChip(
  bands: readonly Int16Array[],
  fmasks: readonly Uint8Array[],
  labels: Uint8Array,
): ChipVerdict {
  if (fmasks.some((f) => worstInvalidShare(f) >= MaxInvalidShare)) return "qa";
  if (bands.some((b) => b.includes(BadMarker))) return "marker";
  if (!labels.some((v) => v !== 0)) return "unlabelled";
  return "keep";
}

/** Negative reflectance to 0, in place (`np.clip(out_bands, 0, None)`: the fill -9999 becomes 0). */
export function clipNegative(band: Int16Array): Int16Array {
  for (let i = 0; i < band.length; i++) if ((band[i] as number) < 0) band[i] = 0;
  return band;
}

/** Pixels per mask value 0..13. */
export function classHistogram(labels: Uint8Array): number[] {
  const counts = new Array<number>(14).fill(0);
  for (const v of labels) if (v < 14) counts[v] = (counts[v] as number) + 1;
  return counts;
}
