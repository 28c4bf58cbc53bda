import { describe, expect, it } from "vitest";
import { acquisitionDate, formatGranuleId, parseGranuleId } from "../../lib/contracts/granule.id.ts";
import { bandKey, ModelBands, parseBandKey } from "../../lib/hls/lpdaac.keys.ts";

describe("granule ids", () => {
  it.each([
    "HLS.S30.T15TVG.2022150T165851.v2.0",
    "HLS.L30.T19TCG.2022001T153012.v2.0",
    "HLS.S30.T01UBS.2020366T235959.v2.0",
  ])("round-trips %s", (id) => {
    expect(formatGranuleId(parseGranuleId(id))).toBe(id);
  });

  it("reads the parts", () => {
    const g = parseGranuleId("HLS.S30.T15TVG.2022150T165851.v2.0");
    expect(g).toEqual({
      product: "S30",
      tileId: "15TVG",
      year: 2022,
      doy: 150,
      time: "165851",
      version: "2.0",
    });
    expect(acquisitionDate(g).toISOString()).toBe("2022-05-30T16:58:51.000Z");
  });

  it.each([
    ["HLS.S30.T15TVG.2022150T165851", "is not an HLS granule id"],
    ["HLS.X30.T15TVG.2022150T165851.v2.0", "is not an HLS granule id"],
    ["HLS.S30.15TVG.2022150T165851.v2.0", "is not an HLS granule id"],
    ["HLS.S30.T15IVG.2022150T165851.v2.0", "is not an MGRS tile id"],
    ["HLS.S30.T61TVG.2022150T165851.v2.0", "is not an MGRS tile id"],
    ["HLS.S30.T15TVG.2022000T165851.v2.0", "day of year 000"],
    ["HLS.S30.T15TVG.2022366T165851.v2.0", "day of year 366 is not in 2022"],
    ["HLS.S30.T15TVG.2022150T246000.v2.0", "is not HHMMSS"],
    [" HLS.S30.T15TVG.2022150T165851.v2.0", "is not an HLS granule id"],
  ])("rejects %s", (id, message) => {
    expect(() => parseGranuleId(id)).toThrow(message);
  });
});

describe("LP DAAC keys", () => {
  const s30 = parseGranuleId("HLS.S30.T15TVG.2022150T165851.v2.0");
  const l30 = parseGranuleId("HLS.L30.T15TVG.2022152T170512.v2.0");

  it("lays out band COGs as LP DAAC does", () => {
    expect(bandKey(s30, "B8A")).toBe(
      "HLSS30.020/HLS.S30.T15TVG.2022150T165851.v2.0/HLS.S30.T15TVG.2022150T165851.v2.0.B8A.tif",
    );
    expect(bandKey(l30, "Fmask")).toBe(
      "HLSL30.020/HLS.L30.T15TVG.2022152T170512.v2.0/HLS.L30.T15TVG.2022152T170512.v2.0.Fmask.tif",
    );
  });

  it("round-trips every model band of both products", () => {
    for (const g of [s30, l30]) {
      for (const band of ModelBands[g.product]) {
        const parsed = parseBandKey(bandKey(g, band));
        expect(parsed.band).toBe(band);
        expect(formatGranuleId(parsed.granule)).toBe(formatGranuleId(g));
      }
    }
  });

  it("refuses bands a product does not have, and keys in the wrong folder", () => {
    expect(() => bandKey(l30, "B8A")).toThrow("band 'B8A' does not exist in HLS L30");
    expect(() =>
      parseBandKey(
        "HLSL30.020/HLS.S30.T15TVG.2022150T165851.v2.0/HLS.S30.T15TVG.2022150T165851.v2.0.B02.tif",
      ),
    ).toThrow("does not belong in collection HLSL30.020");
    expect(() =>
      parseBandKey(
        "HLSS30.020/HLS.S30.T15TVG.2022150T165851.v2.0/HLS.S30.T15TVG.2022151T165851.v2.0.B02.tif",
      ),
    ).toThrow("name different granules");
  });
});
