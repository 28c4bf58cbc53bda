import type { ClassId } from "../../lib/cdl/classes.ts";
import { bandScaling, type SeriesNormalization } from "../../lib/series/series.manifest.ts";
import { bareSpectrum, greenness, greenSpectrum } from "../../scripts/synth/spectra.ts";
import { FieldVariation } from "../../scripts/synth/tile.render.ts";
import type { LinearClassifier } from "./lda.ts";

/**
 * Training pixels for the bundled models, drawn as the synthetic world draws its fields
 * (scripts/synth/tile.render.ts): a phenology shift, amplitude and brightness per field, sensor noise
 * per observation. Draws are taken from `random` in a fixed order, so a seed gives the same model.
 */
export interface SyntheticField {
  classId: ClassId;
  shift: number;
  amplitude: number;
  brightness: number;
}

export function drawField(classId: ClassId, random: () => number): SyntheticField {
  const between = (lo: number, hi: number) => lo + (hi - lo) * random();
  const shift = Math.round(between(-FieldVariation.maxShift, FieldVariation.maxShift));
  const amplitude = between(...FieldVariation.amplitude);
  const brightness = between(...FieldVariation.brightness) * (1 + FieldVariation.texture * (random() - 0.5));
  return { classId, shift, amplitude, brightness };
}

/** The field's six bands on a day of year, with sensor noise up to `noise` each way, normalised per band. */
export function observe(
  field: SyntheticField,
  doy: number,
  noise: number,
  normalization: SeriesNormalization,
  random: () => number,
): Float64Array {
  const { offset, divisor } = bandScaling(normalization);
  const g = greenness(field.classId, doy - field.shift) * field.amplitude;
  const lo = bareSpectrum(field.classId);
  const hi = greenSpectrum(field.classId);
  const out = new Float64Array(6);
  for (let b = 0; b < 6; b++) {
    const value =
      ((lo[b] as number) + ((hi[b] as number) - (lo[b] as number)) * g) * field.brightness +
      (-noise + 2 * noise * random());
    out[b] = (value - (offset[b] as number)) / (divisor[b] as number);
  }
  return out;
}

/** Share of `samples` a linear classifier puts in their own class. */
export function trainingAccuracy(lda: LinearClassifier, samples: Float64Array[], labels: number[]): number {
  const correct = samples.filter((x, i) => {
    const scores = lda.weights.map((w, k) =>
      w.reduce((s, v, f) => s + v * (x[f] as number), lda.bias[k] as number),
    );
    return scores.indexOf(Math.max(...scores)) === labels[i];
  }).length;
  return correct / samples.length;
}
