import { readFileSync, statSync } from "node:fs";
import {
  MaxRegionVertices,
  type RegionSpec,
  RegionSpecParser,
  vertexCount,
  verticesPastCap,
} from "../contracts/region.spec.ts";
import type { Ring } from "../grid/planar.ts";
import { findState, type UsState } from "./us.states.ts";

export { type RegionSpec, RegionSpecParser };

/** A resolved region: a name for people and polygons in lon/lat. */
export interface Region {
  name: string;
  polygons: Ring[][];
}

/** Input that names no usable region; the message says which input and why. */
export class RegionError extends Error {}

function knownState(query: string): UsState {
  const state = findState(query);
  if (!state) throw new RegionError(`unknown state '${query}': use a postal code (IA) or a name (Iowa)`);
  return state;
}

function statePolygons(state: UsState): Ring[][] {
  const { geometry } = state;
  return (geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates) as unknown as Ring[][];
}

function checkLonLat(points: readonly (readonly number[])[], what: string): void {
  for (const [lon, lat] of points) {
    if (
      !(Number.isFinite(lon) && Number.isFinite(lat)) ||
      Math.abs(lon as number) > 180 ||
      Math.abs(lat as number) > 90
    ) {
      throw new RegionError(`${what}: coordinate [${lon}, ${lat}] is not lon/lat in degrees (WGS 84)`);
    }
  }
}

export function resolveRegion(spec: RegionSpec): Region {
  switch (spec.kind) {
    case "state": {
      const state = knownState(spec.state);
      return { name: `${state.name} (${state.postal})`, polygons: statePolygons(state) };
    }
    case "states":
      return { name: spec.name, polygons: spec.states.map(knownState).flatMap(statePolygons) };
    case "bbox": {
      const [w, s, e, n] = spec.bbox;
      checkLonLat(
        [
          [w, s],
          [e, n],
        ],
        `bbox ${spec.bbox.join(",")}`,
      );
      if (w >= e)
        throw new RegionError(`bbox ${spec.bbox.join(",")}: west (${w}) must be less than east (${e})`);
      if (s >= n)
        throw new RegionError(`bbox ${spec.bbox.join(",")}: south (${s}) must be less than north (${n})`);
      const ring: Ring = [
        [w, s],
        [e, s],
        [e, n],
        [w, n],
        [w, s],
      ];
      return { name: `bbox ${spec.bbox.join(",")}`, polygons: [[ring]] };
    }
    case "polygon": {
      for (const polygon of spec.coordinates)
        for (const ring of polygon) checkLonLat(ring, `region '${spec.name}'`);
      return { name: spec.name, polygons: spec.coordinates as Ring[][] };
    }
  }
}

/** Parses `W,S,E,N` as the CLI takes it. */
export function parseBbox(text: string): RegionSpec {
  const parts = text.split(",").map((p) => p.trim());
  const numbers = parts.map(Number);
  if (parts.length !== 4 || parts.some((p) => p === "") || numbers.some((v) => !Number.isFinite(v))) {
    throw new RegionError(`bbox '${text}': expected four numbers W,S,E,N in degrees`);
  }
  const spec: RegionSpec = { kind: "bbox", bbox: numbers as [number, number, number, number] };
  resolveRegion(spec);
  return spec;
}

type Geometry = { type: string; coordinates?: unknown; geometries?: Geometry[] };

function polygonsOf(node: unknown, file: string): number[][][][] {
  const value = node as { type?: string; geometry?: unknown; features?: unknown[] } & Geometry;
  switch (value?.type) {
    case "FeatureCollection":
      return (value.features ?? []).flatMap((f) => polygonsOf(f, file));
    case "Feature":
      return polygonsOf(value.geometry, file);
    case "GeometryCollection":
      return (value.geometries ?? []).flatMap((g) => polygonsOf(g, file));
    case "Polygon":
      return [value.coordinates as number[][][]];
    case "MultiPolygon":
      return value.coordinates as number[][][][];
    default:
      throw new RegionError(
        `GeoJSON '${file}': found ${value?.type ? `a ${value.type}` : "no GeoJSON object"}; expected Polygon or MultiPolygon geometry`,
      );
  }
}

/**
 * The largest GeoJSON file read for a region: room for the vertex cap (MaxRegionVertices) at any
 * precision and indentation, and for properties, which are dropped.
 */
export const MaxGeoJsonBytes = 8 << 20;

/** Reads a GeoJSON file (geometry, Feature or FeatureCollection of polygons) into a region spec. */
export function readGeoJsonRegion(file: string): RegionSpec {
  let text: string;
  try {
    const { size } = statSync(file);
    if (size > MaxGeoJsonBytes)
      throw new RegionError(`GeoJSON '${file}': ${size} bytes, past the cap of ${MaxGeoJsonBytes}`);
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (error instanceof RegionError) throw error;
    throw new RegionError(
      `GeoJSON '${file}' cannot be read: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RegionError(`GeoJSON '${file}' is not valid JSON: ${(error as Error).message}`);
  }
  const polygons = polygonsOf(json, file);
  if (polygons.length === 0) throw new RegionError(`GeoJSON '${file}' holds no polygon`);
  const vertices = vertexCount(polygons);
  if (vertices > MaxRegionVertices) throw new RegionError(`GeoJSON '${file}': ${verticesPastCap(vertices)}`);
  const spec = RegionSpecParser.safeParse({
    kind: "polygon",
    name: file.split("/").pop() ?? file,
    coordinates: polygons.map((p) => p.map((ring) => ring.map((c) => c.slice(0, 2)))),
  });
  if (!spec.success) {
    const issue = spec.error.issues[0];
    throw new RegionError(
      `GeoJSON '${file}': malformed polygon at coordinates.${issue?.path.slice(1).join(".")}: ${issue?.message}`,
    );
  }
  resolveRegion(spec.data);
  return spec.data;
}
