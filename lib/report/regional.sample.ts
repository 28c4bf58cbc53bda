export interface Sample {
  classes: Uint8Array;
  confidence: Uint8Array;
  labels: Uint8Array;
  width: number;
  height: number;
}

/**
 * The run grid sampled every `step` pixels, from the parts' own samples at the same step: each
 * part starts a whole number of steps from the run grid's origin, so its sample pixels are the
 * run's, pasted where the part mapped (or labelled) them. Parts own disjoint pixels, so the order
 * does not matter. Classes of a nearest overview; confidence sampled, not averaged.
 */
export function composeSamples(
  grid: MosaicGrid,
  step: number,
  parts: { grid: MosaicGrid; sample: Sample }[],
): Sample {
  const width = Math.ceil(grid.width / step);
  const height = Math.ceil(grid.height / step);
  const out: Sample = {
    width,
    height,
    classes: new Uint8Array(width * height),
    confidence: new Uint8Array(width * height).fill(255),
    labels: new Uint8Array(width * height),
  };
  for (const { grid: g, sample } of parts) {
    const col0 = Math.round((g.origin[0] - grid.origin[0]) / grid.pixelSize);
    const row0 = Math.round((grid.origin[1] - g.origin[1]) / grid.pixelSize);
    if (col0 % step !== 0 || row0 % step !== 0)
      throw new Error(`a part at column ${col0}, row ${row0} is not on the ${step}-pixel sample lattice`);
    const [x0, y0] = [col0 / step, row0 / step];
    for (let y = 0; y < sample.height && y0 + y < height; y++)
      for (let x = 0; x < sample.width && x0 + x < width; x++) {
        const from = y * sample.width + x;
        const to = (y0 + y) * width + x0 + x;
        const c = sample.classes[from] as number;
        if (c !== 0) {
          out.classes[to] = c;
          out.confidence[to] = sample.confidence[from] as number;
        }
        const l = sample.labels[from] as number;
        if (l !== 0) out.labels[to] = l;
      }
  }
  return out;
}

import type { MosaicGrid } from "../contracts/grid.contract.ts";
