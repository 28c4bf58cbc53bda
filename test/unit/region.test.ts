import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createRunActivities } from "../../activities/run.activities.ts";
import { loadConfig } from "../../lib/config/config.load.ts";
import { MaxRegionVertices, RegionSpecParser } from "../../lib/contracts/region.spec.ts";
import { conusStates, parseRegionName } from "../../lib/region/named.regions.ts";
import {
  MaxGeoJsonBytes,
  parseBbox,
  RegionError,
  readGeoJsonRegion,
  resolveRegion,
} from "../../lib/region/region.ts";
import { tilesForRegion } from "../../lib/region/tile.cover.ts";

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
  it("finds states by postal code or name, in any case, words joined by spaces, hyphens or underscores", () => {
    expect(resolveRegion({ kind: "state", state: "ia" }).name).toBe("Iowa (IA)");
    expect(resolveRegion({ kind: "state", state: "Rhode Island" }).name).toBe("Rhode Island (RI)");
    expect(resolveRegion({ kind: "state", state: "rhode-island" }).name).toBe("Rhode Island (RI)");
    expect(resolveRegion({ kind: "state", state: "new_york" }).name).toBe("New York (NY)");
    expect(resolveRegion({ kind: "state", state: " North  Dakota " }).name).toBe("North Dakota (ND)");
    expect(() => resolveRegion({ kind: "state", state: "rhodeisland" })).toThrow(
      "unknown state 'rhodeisland'",
    );
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

  it("names the contiguous US and lists of states, refusing unknown ones", () => {
    const conus = parseRegionName("CONUS");
    expect(conus).toMatchObject({ kind: "states", name: "conus" });
    expect(conusStates()).toHaveLength(49);
    for (const outside of ["AK", "HI", "PR"]) expect(conusStates()).not.toContain(outside);
    expect(conusStates()).toContain("DC");
    // The 48 states' and DC's tiles: about a thousand, Texas alone 106.
    expect(tilesForRegion(resolveRegion(conus)).length).toBe(988);
    expect(tilesForRegion(resolveRegion(parseRegionName("texas")))).toHaveLength(106);
    const pair = resolveRegion(parseRegionName("TX,OK"));
    expect(pair.name).toBe("TX,OK");
    expect(pair.polygons.length).toBeGreaterThan(1);
    expect(() => parseRegionName("TX,Atlantis")).toThrow("unknown state 'Atlantis'");
    expect(() => parseRegionName("TX,,OK")).toThrow("expected conus or states separated by commas");
  });

  it("refuses to plan a run over a region that touches no tile", async () => {
    const runs = createRunActivities(undefined as never, loadConfig({ env: {} }));
    const error = await runs.planRun({ region: { kind: "bbox", bbox: [-40, 30, -39, 31] } }).catch((e) => e);
    expect(error.message).toBe("bbox -40,30,-39,31 touches no HLS tile in the shipped tile table (US only)");
    expect(error.nonRetryable).toBe(true);
  });
});

describe("region caps", () => {
  /** A ring of `n` vertices on a circle around Des Moines, closed. */
  const circle = (n: number) => {
    const ring = Array.from({ length: n - 1 }, (_, i) => [
      -93.6 + 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)),
      41.6 + 0.5 * Math.sin((2 * Math.PI * i) / (n - 1)),
    ]);
    return [...ring, ring[0] as number[]];
  };

  it("refuses a 100,000-vertex polygon, from a file and as a workflow input, naming the size and the cap", async () => {
    const coordinates = [[circle(100_000)]];
    // What it would cost a run's input: 3.9 MB, over Temporal's 2 MB payload limit.
    expect(JSON.stringify(coordinates).length).toBeGreaterThan(2 << 20);
    const file = await geojsonFile({ type: "MultiPolygon", coordinates });
    expect(() => readGeoJsonRegion(file)).toThrow(RegionError);
    expect(() => readGeoJsonRegion(file)).toThrow(
      `GeoJSON '${file}': 100000 vertices, past the cap of ${MaxRegionVertices} (a run's input must stay well under Temporal's 2 MB payload limit)`,
    );
    const parsed = RegionSpecParser.safeParse({ kind: "polygon", name: "big", coordinates });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ["coordinates"],
      message: expect.stringMatching(/^100000 vertices, past the cap of 20000/),
    });
  });

  it("takes a polygon at the cap, well under the payload limit", async () => {
    const coordinates = [[circle(MaxRegionVertices)]];
    const spec = readGeoJsonRegion(await geojsonFile({ type: "Polygon", coordinates: coordinates[0] }));
    expect(JSON.stringify(spec).length).toBeLessThan(1 << 20);
  });

  it("refuses a GeoJSON file past the byte cap before reading it", async () => {
    const file = await geojsonFile({
      type: "Feature",
      properties: { note: "x".repeat(MaxGeoJsonBytes) },
      geometry: { type: "Polygon", coordinates: square },
    });
    expect(() => readGeoJsonRegion(file)).toThrow(
      new RegExp(`^GeoJSON '.*region\\.geojson': \\d+ bytes, past the cap of ${MaxGeoJsonBytes}$`),
    );
  });
});
