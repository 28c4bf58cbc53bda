import { Class, type ClassId } from "../../lib/cdl/classes.ts";

/**
 * The land a state's synthetic world is made of: shares of the non-crop covers, the share of
 * cropland, and the crop mix within it. Rough shapes of each region's CDL statistics, enough to
 * make Iowa a corn-and-soy state and Rhode Island a forest-and-town one.
 */
export interface LandscapeProfile {
  name: string;
  /** Fractions of the land; the rest is cropland. */
  cover: Partial<Record<ClassId, number>>;
  /** Crop mix within cropland, summing to 1. */
  crops: Partial<Record<ClassId, number>>;
}

const C = Class;

export const Profiles = {
  cornBelt: {
    name: "corn belt",
    cover: {
      [C.Developed]: 0.07,
      [C.Water]: 0.02,
      [C.Wetlands]: 0.02,
      [C.Forest]: 0.07,
      [C.NaturalVegetation]: 0.16,
    },
    crops: {
      [C.Corn]: 0.47,
      [C.Soybeans]: 0.4,
      [C.Alfalfa]: 0.04,
      [C.WinterWheat]: 0.01,
      [C.Fallow]: 0.02,
      [C.Other]: 0.06,
    },
  },
  northeast: {
    name: "northeast",
    cover: {
      [C.Developed]: 0.3,
      [C.Water]: 0.06,
      [C.Wetlands]: 0.1,
      [C.Forest]: 0.42,
      [C.NaturalVegetation]: 0.08,
    },
    crops: { [C.Corn]: 0.3, [C.Soybeans]: 0.1, [C.Alfalfa]: 0.15, [C.Fallow]: 0.1, [C.Other]: 0.35 },
  },
  plains: {
    name: "plains",
    cover: {
      [C.Developed]: 0.04,
      [C.Water]: 0.01,
      [C.Wetlands]: 0.01,
      [C.Forest]: 0.02,
      [C.NaturalVegetation]: 0.45,
    },
    crops: {
      [C.WinterWheat]: 0.38,
      [C.Corn]: 0.16,
      [C.Soybeans]: 0.12,
      [C.Sorghum]: 0.1,
      [C.Alfalfa]: 0.06,
      [C.Fallow]: 0.1,
      [C.Other]: 0.08,
    },
  },
  south: {
    name: "south",
    cover: {
      [C.Developed]: 0.1,
      [C.Water]: 0.03,
      [C.Wetlands]: 0.08,
      [C.Forest]: 0.33,
      [C.NaturalVegetation]: 0.2,
    },
    crops: {
      [C.Cotton]: 0.3,
      [C.Soybeans]: 0.22,
      [C.Corn]: 0.16,
      [C.Sorghum]: 0.06,
      [C.WinterWheat]: 0.06,
      [C.Fallow]: 0.08,
      [C.Other]: 0.12,
    },
  },
  southeast: {
    name: "southeast forest",
    cover: {
      [C.Developed]: 0.14,
      [C.Water]: 0.03,
      [C.Wetlands]: 0.08,
      [C.Forest]: 0.5,
      [C.NaturalVegetation]: 0.12,
    },
    crops: {
      [C.Corn]: 0.3,
      [C.Soybeans]: 0.35,
      [C.WinterWheat]: 0.1,
      [C.Alfalfa]: 0.05,
      [C.Fallow]: 0.05,
      [C.Other]: 0.15,
    },
  },
  west: {
    name: "arid west",
    cover: {
      [C.Developed]: 0.04,
      [C.Water]: 0.01,
      [C.Wetlands]: 0.01,
      [C.Forest]: 0.18,
      [C.NaturalVegetation]: 0.68,
    },
    crops: { [C.Alfalfa]: 0.4, [C.WinterWheat]: 0.2, [C.Corn]: 0.1, [C.Fallow]: 0.15, [C.Other]: 0.15 },
  },
  pacific: {
    name: "pacific",
    cover: {
      [C.Developed]: 0.1,
      [C.Water]: 0.02,
      [C.Wetlands]: 0.02,
      [C.Forest]: 0.38,
      [C.NaturalVegetation]: 0.33,
    },
    crops: {
      [C.Other]: 0.45,
      [C.Alfalfa]: 0.15,
      [C.WinterWheat]: 0.15,
      [C.Fallow]: 0.1,
      [C.Corn]: 0.08,
      [C.Cotton]: 0.07,
    },
  },
} as const satisfies Record<string, LandscapeProfile>;

// biome-ignore format: a table reads better in rows
const ProfileOfState: Record<string, keyof typeof Profiles> = {
  IA: "cornBelt", IL: "cornBelt", IN: "cornBelt", OH: "cornBelt", NE: "cornBelt", MN: "cornBelt", SD: "cornBelt",
  WI: "cornBelt", MI: "cornBelt", MO: "cornBelt",
  KS: "plains", OK: "plains", ND: "plains", MT: "plains", CO: "plains",
  TX: "south", AR: "south", MS: "south", LA: "south", AL: "south", GA: "south",
  TN: "southeast", KY: "southeast", NC: "southeast", SC: "southeast", VA: "southeast", WV: "southeast",
  FL: "southeast", MD: "southeast", DE: "southeast", PR: "southeast",
  RI: "northeast", CT: "northeast", MA: "northeast", NH: "northeast", VT: "northeast", ME: "northeast",
  NY: "northeast", NJ: "northeast", PA: "northeast", DC: "northeast",
  WY: "west", NV: "west", UT: "west", AZ: "west", NM: "west", ID: "west", AK: "west",
  CA: "pacific", OR: "pacific", WA: "pacific", HI: "pacific",
};

export function profileForState(postal: string): LandscapeProfile {
  return Profiles[ProfileOfState[postal] ?? "cornBelt"];
}
