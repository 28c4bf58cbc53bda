import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { holdsOn, mutate, mutations, readZip, zipSeed } from "../support/readers.fuzz.ts";

describe("zip directory reader, fuzzed", () => {
  it("lists and extracts or refuses with a ZipError every mutation of a CDL zip, never allocating past the bound", async () => {
    const seed = zipSeed();
    // The central directory and end record are the archive's last 160 bytes: half the inputs edit only them.
    const directoryAt = seed.length - 160;
    const inputs = fc
      .tuple(mutations(seed.length), fc.boolean())
      .map(([list, inDirectory]) =>
        inDirectory ? list.map((m) => ("at" in m ? { ...m, at: directoryAt + (m.at % 160) } : m)) : list,
      );
    const kinds = await holdsOn(inputs, (list) => readZip(mutate(seed, list)));
    expect(kinds.refused).toBeGreaterThan(20);
    expect(kinds.read).toBeGreaterThan(5);
  });
});
