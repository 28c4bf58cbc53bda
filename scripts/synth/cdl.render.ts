import { Class, type ClassId, cdlCodes } from "../../lib/cdl/classes.ts";
import { CdlEpsg } from "../../lib/grid/crs.ts";
import type { Raster } from "../../lib/raster/raster.types.ts";
import { rasterizeRings } from "../../lib/raster/rasterize.ts";
import type { Ground } from "./ground.ts";
import type { WorldPlan } from "./world.plan.ts";

/** Real CDL codes the synthetic labels use, several per class where CDL has several. */
export const SyntheticCdlCodes: Record<ClassId, readonly number[]> = {
  [Class.NaturalVegetation]: [176, 152, 37],
  [Class.Forest]: [141, 142, 143],
  [Class.Corn]: [1],
  [Class.Soybeans]: [5],
  [Class.Wetlands]: [190, 195],
  [Class.Developed]: [121, 122, 123, 124, 131],
  [Class.Water]: [111],
  [Class.WinterWheat]: [24],
  [Class.Alfalfa]: [36],
  [Class.Fallow]: [61],
  [Class.Cotton]: [2],
  [Class.Sorghum]: [4],
  [Class.Other]: [21, 28, 42, 43, 23, 68],
};

/** Throws when a code above maps to another class in the shipped table: the two must agree. */
export function checkSyntheticCodes(): void {
  const byCode = new Map(cdlCodes().map((c) => [c.code, c.classId]));
  for (const [classId, codes] of Object.entries(SyntheticCdlCodes)) {
    for (const code of codes) {
      if (byCode.get(code) !== Number(classId))
        throw new Error(`CDL code ${code} is not class ${classId} in the CDL table`);
    }
  }
}

/** The CDL-like label raster of a world: real CDL codes inside the state, 0 (background) outside. */
export function renderCdl(plan: WorldPlan, ground: Ground): Raster<Uint8Array> {
  checkSyntheticCodes();
  const grid = plan.cdl;
  const inside = rasterizeRings(plan.albersRings.flat(), grid);
  const data = new Uint8Array(grid.width * grid.height);
  for (let row = 0; row < grid.height; row++) {
    const y = grid.origin[1] - (row + 0.5) * grid.pixelSize;
    for (let col = 0; col < grid.width; col++) {
      const i = row * grid.width + col;
      if (!inside[i]) continue;
      const sample = ground.at(grid.origin[0] + (col + 0.5) * grid.pixelSize, y);
      const codes = SyntheticCdlCodes[sample.classId];
      data[i] = codes[sample.patch % codes.length] as number;
    }
  }
  return {
    width: grid.width,
    height: grid.height,
    data,
    geo: { epsg: CdlEpsg, origin: grid.origin, pixelSize: grid.pixelSize },
    nodata: 0,
  };
}
