import { describe, expect, it } from "vitest";
import { cmrSeed, edit, holdsOn, readCmr, xmlEdits } from "../support/readers.fuzz.ts";

describe("cmr.xml reader, fuzzed", () => {
  it("reads or refuses with a CmrRecordError every edit of a granule record", async () => {
    const kinds = await holdsOn(xmlEdits(cmrSeed.length), (edits) => readCmr(edit(cmrSeed, edits)));
    expect(kinds.refused).toBeGreaterThan(20);
    expect(kinds.read).toBeGreaterThan(0);
  });
});
