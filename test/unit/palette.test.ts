import { describe, expect, it } from "vitest";
import { CropClasses } from "../../lib/cdl/classes.ts";
import { closestPair, deltaE2000, type Rgb, seenAs } from "../../lib/report/colour.vision.ts";

const palette = CropClasses.map((c) => c.color as Rgb);

describe("colour difference", () => {
  it.each([
    // Sharma, Wu and Dalal (2005), test data pairs 1, 7, 13 and 25
    [[50, 2.6772, -79.7751], [50, 0, -82.7485], 2.0425],
    [[50, 0, 0], [50, -1, 2], 2.3669],
    [[50, 2.49, -0.001], [50, -2.49, 0.0011], 7.2195],
    [[60.2574, -34.0099, 36.2677], [60.4626, -34.1751, 39.4387], 1.2644],
  ] as const)("CIEDE2000 of %j and %j is %d", (a, b, expected) => {
    expect(deltaE2000([...a], [...b])).toBeCloseTo(expected, 4);
  });

  it("simulates dichromacy: red and green meet for a protanope, not for a trichromat", () => {
    const red: Rgb = [200, 60, 40];
    const green: Rgb = [90, 110, 40];
    expect(deltaE2000(seenAs(red, "normal"), seenAs(green, "normal"))).toBeGreaterThan(30);
    expect(deltaE2000(seenAs(red, "protanopia"), seenAs(green, "protanopia"))).toBeLessThan(12);
  });
});

describe("the class palette", () => {
  it("keeps every pair of classes apart with normal vision and each colour-vision deficiency", () => {
    expect(closestPair(palette, "normal").deltaE).toBeGreaterThanOrEqual(15);
    for (const vision of ["protanopia", "deuteranopia", "tritanopia"] as const)
      expect(closestPair(palette, vision).deltaE, vision).toBeGreaterThanOrEqual(9);
  });

  it("would fail with the old forest green, a twin of soybeans", () => {
    const old = palette.map((c, i) => (i === 1 ? ([56, 118, 29] as Rgb) : c));
    expect(closestPair(old, "normal")).toMatchObject({ i: 1, j: 3 });
    expect(closestPair(old, "normal").deltaE).toBeLessThan(5);
  });
});
