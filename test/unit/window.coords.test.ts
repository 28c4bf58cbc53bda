import { describe, expect, it } from "vitest";
import { batchCoords, windowCentre } from "../../lib/pipeline/window.coords.ts";

// The CDL grid's projection (NAD83 / Conus Albers) has its origin at 23° N, 96° W: a window whose
// centre pixel's centre falls there is at (23, -96), latitude first.
const grid = { epsg: 5070, origin: [-32.5 * 30, 32.5 * 30] as [number, number], pixelSize: 30 };

describe("a TL model's window coords", () => {
  it("puts a window's centre pixel at its latitude and longitude, in that order", () => {
    const [lat, lon] = windowCentre(grid, 64, 0, 0);
    expect(lat).toBeCloseTo(23, 9);
    expect(lon).toBeCloseTo(-96, 9);
    // A window 100 km east: the same latitude band, further east.
    const [, east] = windowCentre(grid, 64, 100_000 / 30, 0);
    expect(east).toBeGreaterThan(-96);
  });

  it("gives every window of a batch the stack's dates (1 = 1 January) and its own centre", () => {
    const dates = [
      { year: 2022, dayOfYear: 1 },
      { year: 2022, dayOfYear: 152 },
      { year: 2022, dayOfYear: 365 },
    ];
    const { temporal, location } = batchCoords(grid, 64, dates, 0, [0, 32]);
    expect([...temporal]).toEqual([2022, 1, 2022, 152, 2022, 365, 2022, 1, 2022, 152, 2022, 365]);
    expect(location.length).toBe(4);
    expect(location[0]).toBeCloseTo(23, 4);
    expect(location[1]).toBeCloseTo(-96, 4);
    expect(location[3] as number).toBeGreaterThan(location[1] as number);
  });
});
