import { Class, type ClassId } from "../../lib/cdl/classes.ts";

/** Reflectance x 10000 in the six model bands: Blue, Green, Red, NIR narrow, SWIR1, SWIR2. */
export type Spectrum = readonly [number, number, number, number, number, number];

/**
 * How a class looks over a season: a bare (soil, stubble, dormant) spectrum, a full-canopy
 * spectrum, and a greenness curve between them (double logistic: green-up at `sos`, senescence
 * or harvest at `eos`). Water and developed land have gmin = gmax: they do not change.
 */
interface ClassLook {
  bare: Spectrum;
  green: Spectrum;
  sos: number;
  eos: number;
  gmin: number;
  gmax: number;
  /** Days of each logistic step (smaller is sharper; harvest is sharp). */
  rise: number;
  fall: number;
}

const Soil: Spectrum = [900, 1200, 1500, 2300, 3000, 2500];
const Canopy: Spectrum = [250, 550, 300, 4200, 2100, 900];

// biome-ignore format: one class a row
const Looks: Record<ClassId, ClassLook> = {
  [Class.NaturalVegetation]: { bare: [800, 1100, 1300, 2200, 2800, 2200], green: [350, 650, 450, 3000, 2200, 1200], sos: 120, eos: 240, gmin: 0.2, gmax: 0.65, rise: 12, fall: 15 },
  [Class.Forest]: { bare: [400, 600, 600, 1800, 1600, 900], green: [200, 400, 250, 3300, 1500, 650], sos: 125, eos: 290, gmin: 0.3, gmax: 0.95, rise: 8, fall: 10 },
  [Class.Corn]: { bare: Soil, green: [260, 560, 280, 4000, 2000, 850], sos: 165, eos: 255, gmin: 0.03, gmax: 0.95, rise: 8, fall: 9 },
  [Class.Soybeans]: { bare: Soil, green: [240, 560, 300, 4700, 2350, 950], sos: 182, eos: 262, gmin: 0.03, gmax: 0.92, rise: 7, fall: 6 },
  [Class.Wetlands]: { bare: [500, 700, 700, 1200, 800, 450], green: [300, 600, 400, 2800, 1400, 650], sos: 130, eos: 270, gmin: 0.3, gmax: 0.75, rise: 10, fall: 12 },
  [Class.Developed]: { bare: [1100, 1250, 1400, 2100, 2400, 2100], green: [1100, 1250, 1400, 2100, 2400, 2100], sos: 0, eos: 400, gmin: 0, gmax: 0, rise: 1, fall: 1 },
  [Class.Water]: { bare: [550, 650, 450, 200, 120, 80], green: [550, 650, 450, 200, 120, 80], sos: 0, eos: 400, gmin: 0, gmax: 0, rise: 1, fall: 1 },
  [Class.WinterWheat]: { bare: [1000, 1300, 1600, 2500, 3300, 2700], green: [300, 600, 350, 3600, 2200, 1000], sos: 80, eos: 170, gmin: 0.08, gmax: 0.85, rise: 10, fall: 4 },
  [Class.Alfalfa]: { bare: [700, 1000, 1100, 2600, 2700, 2000], green: [220, 560, 260, 4800, 2200, 900], sos: 105, eos: 285, gmin: 0.2, gmax: 0.9, rise: 8, fall: 8 },
  [Class.Fallow]: { bare: Soil, green: [500, 800, 800, 2800, 2800, 1900], sos: 150, eos: 230, gmin: 0.08, gmax: 0.3, rise: 15, fall: 15 },
  [Class.Cotton]: { bare: Soil, green: [300, 600, 350, 3800, 2400, 1100], sos: 190, eos: 280, gmin: 0.03, gmax: 0.75, rise: 9, fall: 8 },
  [Class.Sorghum]: { bare: Soil, green: [280, 560, 330, 3900, 2200, 1000], sos: 175, eos: 265, gmin: 0.03, gmax: 0.85, rise: 8, fall: 8 },
  [Class.Other]: { bare: Soil, green: Canopy, sos: 140, eos: 225, gmin: 0.05, gmax: 0.8, rise: 9, fall: 7 },
};

/** Alfalfa is cut every five weeks or so; each cut knocks the canopy down and it regrows. */
function alfalfaCuts(doy: number): number {
  if (doy < 150) return 1;
  const phase = ((doy - 150) % 36) / 36;
  return 0.45 + 0.55 * Math.min(1, phase * 2.2);
}

/** Canopy fraction of a class on a day of year, 0..1. */
export function greenness(classId: ClassId, doy: number): number {
  const l = Looks[classId];
  const up = 1 / (1 + Math.exp(-(doy - l.sos) / l.rise));
  const down = 1 / (1 + Math.exp(-(doy - l.eos) / l.fall));
  const g = l.gmin + (l.gmax - l.gmin) * Math.max(0, up - down);
  return classId === Class.Alfalfa ? g * alfalfaCuts(doy) : g;
}

export function bareSpectrum(classId: ClassId): Spectrum {
  return Looks[classId].bare;
}

export function greenSpectrum(classId: ClassId): Spectrum {
  return Looks[classId].green;
}

/** What a cloud looks like from above: bright and flat across the visible, a little less in SWIR. */
export const CloudSpectrum: Spectrum = [5200, 5100, 5300, 5600, 4300, 3400];
