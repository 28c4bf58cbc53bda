import type { RegionSpec } from "../contracts/region.spec.ts";
import { RegionError, resolveRegion } from "./region.ts";
import { allStates } from "./us.states.ts";

/** Outside the contiguous US: not part of `conus`. */
const NotContiguous = new Set(["AK", "HI", "PR"]);

/** The 48 contiguous states and DC, by postal code. */
export function conusStates(): string[] {
  return allStates()
    .map((s) => s.postal)
    .filter((p) => !NotContiguous.has(p))
    .sort();
}

/**
 * A region named on the command line: `conus` (the 48 contiguous states and DC), or one or more
 * states separated by commas (`texas`, `TX,OK,NM`). Unknown states are refused by name.
 */
export function parseRegionName(text: string): Extract<RegionSpec, { kind: "states" }> {
  const name = text.trim();
  const states = name.toLowerCase() === "conus" ? conusStates() : name.split(",").map((s) => s.trim());
  if (states.some((s) => s === ""))
    throw new RegionError(`--region '${text}': expected conus or states separated by commas`);
  const spec: Extract<RegionSpec, { kind: "states" }> = {
    kind: "states",
    name: name.toLowerCase() === "conus" ? "conus" : name,
    states,
  };
  resolveRegion(spec);
  return spec;
}
