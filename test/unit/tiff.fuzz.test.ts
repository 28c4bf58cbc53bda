import { describe, expect, it } from "vitest";
import { holdsOn, mutate, mutations, readTiff, tiffSeed } from "../support/readers.fuzz.ts";

describe("TIFF header and directory reader, fuzzed", () => {
  it("reads or refuses with a TiffError every mutation of our COG, never allocating past the bound", async () => {
    const seed = await tiffSeed();
    // Most edits land in the header and first directory, where the fields sizes come from.
    const kinds = await holdsOn(mutations(seed.length, 400), (list) => readTiff(mutate(seed, list)));
    // Both ends were reached: the property cannot hold by refusing everything, or nothing.
    expect(kinds.refused).toBeGreaterThan(20);
    expect(kinds.read).toBeGreaterThan(20);
  });
});
