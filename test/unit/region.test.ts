import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseBbox, readGeoJsonRegion, resolveRegion } from "../../lib/region/region.ts";

async function geojsonFile(content: unknown): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), "region-")), "region.geojson");
  await writeFile(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

const square = [
  [
    [-93, 42],
    [-92, 42],
    [-92, 43],
    [-93, 43],
    [-93, 42],
  ],
];

describe("regions", () => {
  it("finds states by postal code or name, in any case", () => {
    expect(resolveRegion({ kind: "state", state: "ia" }).name).toBe("Iowa (IA)");
    expect(resolveRegion({ kind: "state", state: "Rhode Island" }).name).toBe("Rhode Island (RI)");
    expect(() => resolveRegion({ kind: "state", state: "Atlantis" })).toThrow("unknown state 'Atlantis'");
  });

  it("parses a bbox and refuses malformed or inverted ones", () => {
    expect(parseBbox("-93.5, 41, -92, 42.5")).toEqual({ kind: "bbox", bbox: [-93.5, 41, -92, 42.5] });
    expect(() => parseBbox("-93,41,-92")).toThrow("expected four numbers");
    expect(() => parseBbox("-93,41,-92,x")).toThrow("expected four numbers");
    expect(() => parseBbox("-92,41,-93,42")).toThrow("west (-92) must be less than east (-93)");
    expect(() => parseBbox("-93,42,-92,41")).toThrow("south (42) must be less than north (41)");
    expect(() => parseBbox("-193,41,-92,42")).toThrow("is not lon/lat");
  });

  it("reads GeoJSON geometries, features and collections", async () => {
    const asGeometry = readGeoJsonRegion(await geojsonFile({ type: "Polygon", coordinates: square }));
    const asCollection = readGeoJsonRegion(
      await geojsonFile({
        type: "FeatureCollection",
        features: [
          {
            type: "Feature",
            properties: {},
            geometry: { type: "MultiPolygon", coordinates: [square, square] },
          },
        ],
      }),
    );
    expect(resolveRegion(asGeometry).polygons).toHaveLength(1);
    expect(resolveRegion(asCollection).polygons).toHaveLength(2);
  });

  it("refuses GeoJSON that is unreadable, not polygons, or not lon/lat", async () => {
    await expect(async () => readGeoJsonRegion("/no/such/file.geojson")).rejects.toThrow(
      "cannot be read: ENOENT",
    );
    const broken = await geojsonFile("{ not json");
    expect(() => readGeoJsonRegion(broken)).toThrow("is not valid JSON");
    const line = await geojsonFile({
      type: "LineString",
      coordinates: [
        [-93, 42],
        [-92, 43],
      ],
    });
    expect(() => readGeoJsonRegion(line)).toThrow("found a LineString; expected Polygon or MultiPolygon");
    const projected = await geojsonFile({
      type: "Polygon",
      coordinates: [
        [
          [500000, 4e6],
          [510000, 4e6],
          [510000, 4.01e6],
          [500000, 4e6],
        ],
      ],
    });
    expect(() => readGeoJsonRegion(projected)).toThrow("is not lon/lat in degrees");
    const tooShort = await geojsonFile({
      type: "Polygon",
      coordinates: [
        [
          [-93, 42],
          [-92, 42],
        ],
      ],
    });
    expect(() => readGeoJsonRegion(tooShort)).toThrow("malformed polygon");
  });
});
