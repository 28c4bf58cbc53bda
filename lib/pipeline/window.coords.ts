// A TL model's further inputs (Prithvi-EO-2.0 TL): each window's dates and the place it shows.
import type { FrameDate } from "../contracts/predict.contract.ts";
import { transform } from "../grid/crs.ts";
import type { BatchCoords } from "../model/model.session.ts";

const Wgs84 = 4326;

/**
 * Latitude and longitude (degrees) of the centre of the window at (x0, y0) of a north-up grid:
 * the centre of its pixel (size / 2, size / 2), as TerraTorch's crop dataset takes a chip's centre.
 */
export function windowCentre(
  grid: { epsg: number; origin: [number, number]; pixelSize: number },
  size: number,
  x0: number,
  y0: number,
): [number, number] {
  const half = Math.floor(size / 2) + 0.5;
  const x = grid.origin[0] + (x0 + half) * grid.pixelSize;
  const y = grid.origin[1] - (y0 + half) * grid.pixelSize;
  const [lon, lat] = transform(grid.epsg, Wgs84).forward([x, y]);
  return [lat, lon];
}

/**
 * The coords of a batch of one window row: every window gets the stack's dates, (year, day of
 * year, 1 = 1 January) per frame in the stack's order, and its own centre as (latitude,
 * longitude): the orders the model's encoder reads (column 0 of the place is its `lat`).
 */
export function batchCoords(
  grid: { epsg: number; origin: [number, number]; pixelSize: number },
  size: number,
  dates: readonly FrameDate[],
  y0: number,
  xs: readonly number[],
): BatchCoords {
  const frame = dates.flatMap((d) => [d.year, d.dayOfYear]);
  const temporal = new Float32Array(xs.length * frame.length);
  const location = new Float32Array(xs.length * 2);
  xs.forEach((x0, i) => {
    temporal.set(frame, i * frame.length);
    location.set(windowCentre(grid, size, x0, y0), i * 2);
  });
  return { temporal, location };
}
