import type { Command } from "commander";
import type { RegionSpec } from "../../lib/contracts/region.spec.ts";
import type { HlsTile } from "../../lib/grid/tile.table.ts";
import { parseRegionName } from "../../lib/region/named.regions.ts";
import { parseBbox, readGeoJsonRegion, resolveRegion } from "../../lib/region/region.ts";
import { tilesForRegion } from "../../lib/region/tile.cover.ts";
import { InputError } from "../cli.errors.ts";

export interface RegionOptions {
  state?: string;
  bbox?: string;
  geojson?: string;
  region?: string;
}

/** Adds the ways of naming a region; exactly one must be given. */
export function addRegionOptions(command: Command): Command {
  return command
    .option("--state <state>", "US state by postal code (IA) or name (Iowa)")
    .option("--bbox <W,S,E,N>", "box in lon/lat degrees (WGS 84)")
    .option("--geojson <file>", "GeoJSON file with Polygon or MultiPolygon geometry in lon/lat")
    .option("--region <name>", "conus (the 48 contiguous states and DC), or states by comma (TX,OK)");
}

export function regionSpecFrom(options: RegionOptions): RegionSpec {
  const given = (["state", "bbox", "geojson", "region"] as const).filter((k) => options[k] !== undefined);
  if (given.length !== 1) {
    throw new InputError(
      given.length === 0
        ? "name a region with one of --state, --bbox, --geojson or --region"
        : `name one region, not ${given.map((k) => `--${k}`).join(" and ")}`,
    );
  }
  if (options.state !== undefined) {
    const spec: RegionSpec = { kind: "state", state: options.state };
    resolveRegion(spec);
    return spec;
  }
  if (options.bbox !== undefined) return parseBbox(options.bbox);
  if (options.region !== undefined) return parseRegionName(options.region);
  return readGeoJsonRegion(options.geojson as string);
}

function tileJson(tile: HlsTile) {
  return {
    tileId: tile.tileId,
    epsg: tile.epsg,
    bounds: tile.bounds,
    origin: tile.origin,
    width: tile.width,
    height: tile.height,
    pixelSize: tile.pixelSize,
  };
}

export function registerTilesCommand(program: Command): void {
  addRegionOptions(
    program
      .command("tiles")
      .description("list the HLS tiles whose footprint intersects a region, with each tile's UTM grid"),
  )
    .option("--json", "print a JSON array instead of a table")
    .action((options: RegionOptions & { json?: boolean }) => {
      const region = resolveRegion(regionSpecFrom(options));
      const tiles = tilesForRegion(region);
      if (tiles.length === 0)
        throw new InputError(`${region.name} touches no HLS tile in the shipped tile table (US only)`);
      if (options.json) {
        console.log(JSON.stringify(tiles.map(tileJson), null, 2));
        return;
      }
      console.log(`${tiles.length} HLS tiles cover ${region.name}`);
      console.log(["tile ", "epsg ", "     minX", "      minY", "     maxX", "      maxY"].join("  "));
      for (const t of tiles) {
        const [minX, minY, maxX, maxY] = t.bounds.map((v) => String(v));
        console.log(
          [
            t.tileId,
            String(t.epsg),
            minX?.padStart(9),
            minY?.padStart(10),
            maxX?.padStart(9),
            maxY?.padStart(10),
          ].join("  "),
        );
      }
    });
}
