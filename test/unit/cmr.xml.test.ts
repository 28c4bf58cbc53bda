import { describe, expect, it } from "vitest";
import { CmrRecordError, cmrGranuleFacts, MaxCmrRecordBytes, parseCmrXml } from "../../lib/hls/cmr.xml.ts";
import { lookUpGranule } from "../../lib/hls/granule.catalogue.ts";
import type { HlsArchive } from "../../lib/hls/hls.archive.ts";

/** An L30 record in the shape LP DAAC stores it: no XML declaration, two merged scenes. */
function l30Record(attributes: Record<string, string[]>, ur = "HLS.L30.T13RCN.2021213T173133.v2.0"): string {
  const rows = Object.entries(attributes).map(
    ([name, values]) =>
      `<AdditionalAttribute><Name>${name}</Name><Values>${values.map((v) => `<Value>${v}</Value>`).join("")}</Values></AdditionalAttribute>`,
  );
  return `<Granule>
  <GranuleUR>${ur}</GranuleUR>
  <InsertTime>2021-08-03T06:45:58.000Z</InsertTime>
  <Collection><DataSetId>HLS Landsat Operational Land Imager Surface Reflectance and TOA Brightness Daily Global 30m v2.0</DataSetId></Collection>
  <Temporal><RangeDateTime><BeginningDateTime>2021-08-01T17:31:33.392Z</BeginningDateTime><EndingDateTime>2021-08-01T17:31:57.279Z</EndingDateTime></RangeDateTime></Temporal>
  <Spatial><HorizontalSpatialDomain><Geometry><GPolygon><Boundary>
    <Point><PointLongitude>-107.99</PointLongitude><PointLatitude>33.42</PointLatitude></Point>
    <Point><PointLongitude>-106.81</PointLongitude><PointLatitude>33.43</PointLatitude></Point>
    <Point><PointLongitude>-106.82</PointLongitude><PointLatitude>32.44</PointLatitude></Point>
    <Point><PointLongitude>-107.99</PointLongitude><PointLatitude>32.43</PointLatitude></Point>
  </Boundary></GPolygon></Geometry></HorizontalSpatialDomain></Spatial>
  <AdditionalAttributes>${rows.join("\n")}</AdditionalAttributes>
</Granule>`;
}

const fullAttributes = {
  CLOUD_COVERAGE: ["9"],
  SPATIAL_COVERAGE: ["87"],
  MGRS_TILE_ID: ["13RCN"],
  SENSING_TIME: ["2021-08-01T17:31:33.3926570Z", "2021-08-01T17:31:57.2793220Z"],
  LANDSAT_PRODUCT_ID: [
    "LC08_L1TP_033037_20210801_20210811_02_T1",
    "LC08_L1TP_033038_20210801_20210811_02_T1",
  ],
  HORIZONTAL_CS_NAME: ["UTM, WGS84, UTM ZONE 13"],
};

describe("cmr.xml", () => {
  it("reads a record without a declaration, with two values in an attribute", () => {
    const record = parseCmrXml(l30Record(fullAttributes));
    expect(record.granuleUr).toBe("HLS.L30.T13RCN.2021213T173133.v2.0");
    expect(record.attributes.SENSING_TIME).toHaveLength(2);
    expect(record.footprint).toHaveLength(4);
    expect(record.footprint[0]).toEqual([-107.99, 33.42]);
    expect(cmrGranuleFacts(record)).toEqual({
      tileId: "13RCN",
      cloudCover: 9,
      spatialCoverage: 87,
      sensingTime: "2021-08-01T17:31:33.3926570Z; 2021-08-01T17:31:57.2793220Z",
    });
  });

  it("reads a record with a declaration and a namespace prefix", () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n${l30Record(fullAttributes)
      .replace("<Granule>", '<echo:Granule xmlns:echo="http://echo.nasa.gov">')
      .replace("</Granule>", "</echo:Granule>")}`;
    expect(cmrGranuleFacts(parseCmrXml(xml)).cloudCover).toBe(9);
  });

  it("refuses what is not XML, not a granule record, or lacks a usable percentage", () => {
    expect(() => parseCmrXml("<Granule><GranuleUR>x</Granule>")).toThrow(/not well-formed XML/);
    expect(() => parseCmrXml("<Collection><ShortName>HLSS30</ShortName></Collection>")).toThrow(
      /not a granule record: Granule/,
    );
    const { CLOUD_COVERAGE: _, ...noCloud } = fullAttributes;
    expect(() => cmrGranuleFacts(parseCmrXml(l30Record(noCloud)))).toThrow("no CLOUD_COVERAGE attribute");
    for (const bad of ["", "n/a", "101", "-1"]) {
      const record = parseCmrXml(l30Record({ ...fullAttributes, SPATIAL_COVERAGE: [bad] }));
      expect(() => cmrGranuleFacts(record), bad).toThrow(CmrRecordError);
    }
  });
});

/** An archive holding only the given text files. */
function archiveOf(files: Record<string, string>): HlsArchive {
  return {
    url: (key) => `s3://archive/${key}`,
    listGranules: async () => [],
    getText: async (key) => files[key],
    openCog: async () => {
      throw new Error("no COGs here");
    },
  };
}

describe("catalogue lookup", () => {
  const id = "HLS.L30.T13RCN.2021213T173133.v2.0";
  const cmrKey = `HLSL30.020/${id}/${id}.cmr.xml`;
  const stacKey = `HLSL30.020/${id}/${id}_stac.json`;

  it("prefers cmr.xml, falls back to a STAC item, and skips a granule with neither", async () => {
    const stac = JSON.stringify({ id, properties: { "eo:cloud_cover": 40 } });
    const both = await lookUpGranule(archiveOf({ [cmrKey]: l30Record(fullAttributes), [stacKey]: stac }), id);
    expect(both).toMatchObject({
      source: "cmr.xml",
      candidate: { id, doy: 213, cloudCover: 9, spatialCoverage: 87 },
    });
    // CMR-STAC items carry no spatial coverage: it counts as full.
    const stacOnly = await lookUpGranule(archiveOf({ [stacKey]: stac }), id);
    expect(stacOnly).toMatchObject({ source: "stac", candidate: { cloudCover: 40, spatialCoverage: 100 } });
    const none = await lookUpGranule(archiveOf({}), id);
    expect(none).toMatchObject({ id, skipped: expect.stringContaining("no catalogue record") });
  });

  it("skips a record that names another granule or tile, or does not parse", async () => {
    const other = await lookUpGranule(
      archiveOf({ [cmrKey]: l30Record(fullAttributes, "HLS.L30.T13RCN.2021214T173133.v2.0") }),
      id,
    );
    expect(other).toMatchObject({ skipped: expect.stringContaining("GranuleUR") });
    const tile = await lookUpGranule(
      archiveOf({ [cmrKey]: l30Record({ ...fullAttributes, MGRS_TILE_ID: ["13RCM"] }) }),
      id,
    );
    expect(tile).toMatchObject({ skipped: expect.stringContaining("MGRS_TILE_ID '13RCM'") });
    const broken = await lookUpGranule(archiveOf({ [cmrKey]: "<Granule>" }), id);
    expect(broken).toMatchObject({
      skipped: expect.stringMatching(/^s3:\/\/archive\/.*cmr\.xml: not well-formed/),
    });
    const folder = await lookUpGranule(archiveOf({}), "HLS.L30.T13RCN.2021213.v2.0");
    expect(folder).toMatchObject({ skipped: expect.stringContaining("is not an HLS granule id") });
  });
});

describe("catalogue lookup of hostile records", () => {
  const id = "HLS.L30.T13RCN.2021213T173133.v2.0";
  const cmrKey = `HLSL30.020/${id}/${id}.cmr.xml`;
  const skipsWith = async (xml: string, reason: RegExp) => {
    expect(() => parseCmrXml(xml)).toThrow(CmrRecordError);
    const lookup = await lookUpGranule(archiveOf({ [cmrKey]: xml }), id);
    expect(lookup).toMatchObject({ id, skipped: expect.stringMatching(reason) });
  };

  it("skips a record past the size cap before parsing it", async () => {
    // 2 MB of attributes: well-formed, and a granule record but for its size.
    const padding = Array.from({ length: 20_000 }, (_, i) => [`PAD_${i}`, ["x".repeat(80)]]);
    const xml = l30Record({ ...fullAttributes, ...Object.fromEntries(padding) });
    expect(Buffer.byteLength(xml)).toBeGreaterThan(MaxCmrRecordBytes);
    await skipsWith(xml, /cmr\.xml: a record of \d+ bytes is past the 1048576-byte cap$/);
  });

  it("skips a record the parser refuses for its nesting depth, instead of failing the tile", async () => {
    const deep = `${"<a>".repeat(500)}${"</a>".repeat(500)}`;
    const xml = l30Record(fullAttributes).replace("<InsertTime>", `${deep}<InsertTime>`);
    await skipsWith(xml, /cmr\.xml: refused by the XML parser: Maximum nested tags exceeded$/);
  });

  it("skips a record with entity declarations (billion laughs)", async () => {
    const laughs = Array.from({ length: 9 }, (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`).join(
      "",
    );
    const xml = `<?xml version="1.0"?><!DOCTYPE Granule [<!ENTITY l0 "lol">${laughs}]>${l30Record(fullAttributes).replace("13RCN</Value>", "&l9;</Value>")}`;
    await skipsWith(xml, /cmr\.xml: holds a DOCTYPE, which granule records never do$/);
  });
});
