import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../support/cli.run.ts";

describe("crop-map tiles", () => {
  it("prints the tiles of a state as JSON", async () => {
    const { code, stdout } = await cli(["tiles", "--state", "RI", "--json"]);
    expect(code).toBe(0);
    const tiles = JSON.parse(stdout) as { tileId: string; epsg: number; bounds: number[] }[];
    expect(tiles.map((t) => t.tileId)).toContain("19TCG");
    expect(tiles.find((t) => t.tileId === "19TCG")).toMatchObject({
      epsg: 32619,
      bounds: [300000, 4590240, 409800, 4700040],
    });
  });

  it("prints a table", async () => {
    const { code, stdout } = await cli(["tiles", "--bbox", "-71.5,41.5,-71.4,41.6"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\d+ HLS tiles cover bbox -71.5,41.5,-71.4,41.6/);
    expect(stdout).toContain("19TBF  32619");
    expect(stdout).toContain("18TYM  32618");
  });

  it("lists the tiles of the contiguous US", async () => {
    const { code, stdout } = await cli(["tiles", "--region", "conus"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^988 HLS tiles cover conus\n/);
  });

  it.each([
    [["tiles", "--state", "XX"], "unknown state 'XX'"],
    [["tiles", "--bbox", "1,2,3"], "bbox '1,2,3': expected four numbers"],
    [["tiles", "--bbox", "-90,44,-91,45"], "west (-90) must be less than east (-91)"],
    [["tiles", "--geojson", "/no/such.geojson"], "GeoJSON '/no/such.geojson' cannot be read"],
    [["tiles"], "name a region with one of --state, --bbox, --geojson or --region"],
    [["tiles", "--region", "TX,Atlantis"], "unknown state 'Atlantis'"],
    [
      ["tiles", "--bbox", "-40,30,-39,31"],
      "bbox -40,30,-39,31 touches no HLS tile in the shipped tile table",
    ],
    [["tiles", "--state", "IA", "--bbox", "1,2,3,4"], "name one region, not --state and --bbox"],
    [["tiles", "--bogus"], "unknown option '--bogus'"],
    [["frobnicate"], "unknown command 'frobnicate'"],
  ])("exits 2 with one line for %j", async (args, message) => {
    const { code, stderr, stdout } = await cli(args);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(message);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("refuses a GeoJSON file that holds no polygon", async () => {
    const file = join(await mkdtemp(join(tmpdir(), "cli-")), "points.geojson");
    await writeFile(file, JSON.stringify({ type: "Point", coordinates: [-93, 42] }));
    const { code, stderr } = await cli(["tiles", "--geojson", file]);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      `crop-map: GeoJSON '${file}': found a Point; expected Polygon or MultiPolygon geometry`,
    );
  });

  it.each([[["--help"]], [["tiles", "--help"]], [["dev", "--help"]], [["dev", "status", "--help"]]])(
    "answers %j with usage and exit 0",
    async (args) => {
      const { code, stdout } = await cli(args);
      expect(code).toBe(0);
      expect(stdout).toContain("Usage: crop-map");
    },
  );
});

describe("crop-map dev status", () => {
  it("reports a stopped stack as JSON with exit code 3", async () => {
    const home = await mkdtemp(join(tmpdir(), "cli-home-"));
    const { code, stdout } = await cli(["dev", "status", "--json"], { CROP_MAP_HOME: home });
    expect(code).toBe(3);
    expect(JSON.parse(stdout)).toEqual({ up: false, dir: join(home, "dev") });
  });
});
