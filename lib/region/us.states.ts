import { createRequire } from "node:module";
import type { MultiPolygon, Polygon } from "geojson";
import { feature } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";

/**
 * Postal code by FIPS code for the states, DC and Puerto Rico: the places the HLS tile table
 * covers. us-atlas also has the Pacific territories, which this pipeline does not map.
 */
// biome-ignore format: a table reads better in columns
const PostalByFips: Record<string, string> = {
  "01": "AL", "02": "AK", "04": "AZ", "05": "AR", "06": "CA", "08": "CO", "09": "CT", "10": "DE",
  "11": "DC", "12": "FL", "13": "GA", "15": "HI", "16": "ID", "17": "IL", "18": "IN", "19": "IA",
  "20": "KS", "21": "KY", "22": "LA", "23": "ME", "24": "MD", "25": "MA", "26": "MI", "27": "MN",
  "28": "MS", "29": "MO", "30": "MT", "31": "NE", "32": "NV", "33": "NH", "34": "NJ", "35": "NM",
  "36": "NY", "37": "NC", "38": "ND", "39": "OH", "40": "OK", "41": "OR", "42": "PA", "44": "RI",
  "45": "SC", "46": "SD", "47": "TN", "48": "TX", "49": "UT", "50": "VT", "51": "VA", "53": "WA",
  "54": "WV", "55": "WI", "56": "WY", "72": "PR",
};

export interface UsState {
  postal: string;
  name: string;
  fips: string;
  /** Outline in lon/lat (WGS 84), from us-atlas (Census cartographic boundaries, 1:10M). */
  geometry: Polygon | MultiPolygon;
}

let cache: Map<string, UsState> | undefined;

function loadStates(): Map<string, UsState> {
  if (cache) return cache;
  const topology = createRequire(import.meta.url)("us-atlas/states-10m.json") as Topology<{
    states: GeometryCollection<{ name: string }>;
  }>;
  const collection = feature(topology, topology.objects.states);
  cache = new Map();
  for (const state of collection.features) {
    const fips = String(state.id);
    const postal = PostalByFips[fips];
    if (!postal || !state.properties) continue;
    cache.set(postal, {
      postal,
      fips,
      name: state.properties.name,
      geometry: state.geometry as Polygon | MultiPolygon,
    });
  }
  return cache;
}

/** Every state the pipeline can map, by postal code. */
export function allStates(): UsState[] {
  return [...loadStates().values()];
}

/** A state by postal code (IA) or name (Iowa, iowa); undefined when there is none. */
export function findState(query: string): UsState | undefined {
  const states = loadStates();
  const key = query.trim();
  const byPostal = states.get(key.toUpperCase());
  if (byPostal) return byPostal;
  // Names as shells and file names write them: "rhode-island", "new_york", "North  Dakota".
  const words = (name: string) =>
    name
      .toLowerCase()
      .split(/[\s_-]+/)
      .join(" ");
  const wanted = words(key);
  return [...states.values()].find((s) => words(s.name) === wanted);
}
