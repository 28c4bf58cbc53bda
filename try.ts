import { tilesForRegion } from "./lib/grid/tile.cover.ts";
import { resolveRegion } from "./lib/region/region.ts";

for (const s of ["IA", "RI", "TX", "CA", "AK", "HI", "CO"]) {
  const t0 = performance.now();
  const tiles = tilesForRegion(resolveRegion({ kind: "state", state: s }));
  console.log(
    s,
    tiles.length,
    (performance.now() - t0).toFixed(0),
    "ms",
    s === "RI" || s === "IA" ? tiles.map((t) => t.tileId).join(" ") : "",
  );
}
