import { describe, expect, it } from "vitest";
import { ringBounds } from "../../lib/grid/planar.ts";
import { stateExtent } from "../../lib/region/state.extent.ts";
import { findState, type UsState } from "../../lib/region/us.states.ts";
import type { Extent } from "../../lib/viewer/page/viewer.config.ts";
import { regionOutline, tileLayers, tileOutline } from "../../lib/viewer/run.layers.ts";

const RiTiles = ["18TYL", "18TYM", "19TBF", "19TBG", "19TCF", "19TCG"];
const ri = stateExtent(findState("RI") as UsState);
const box = [...ri.bounds] as Extent;

describe("the viewer's layers", () => {
  it("draws the region's outline closed, on the state's own bounds", () => {
    const outline = regionOutline({ kind: "state", state: "RI" });
    expect(outline?.rings.length).toBe(ri.rings.flat().length);
    for (const ring of outline?.rings ?? []) expect(ring.at(-1)).toEqual(ring[0]);
    for (const [i, v] of ri.bounds.entries())
      expect(Math.abs((outline?.bounds[i] as number) - v)).toBeLessThanOrEqual(1);
    expect(regionOutline({ kind: "state", state: "Atlantis" })).toBeUndefined();
  });

  it("cuts every tile to the box and labels each part at its centre, zone twins on one label", () => {
    const { tiles, labels } = tileLayers(
      RiTiles.map((tileId) => ({ tileId, state: "done" })),
      box,
    );
    expect(tiles.map((t) => t.tileId)).toEqual(RiTiles);
    for (const t of tiles) {
      const [x0, y0, x1, y1] = ringBounds(t.ring);
      expect(x0).toBeGreaterThanOrEqual(box[0] - 1);
      expect(y0).toBeGreaterThanOrEqual(box[1] - 1);
      expect(x1).toBeLessThanOrEqual(box[2] + 1);
      expect(y1).toBeLessThanOrEqual(box[3] + 1);
      // Whole, a tile reaches tens of kilometres past the state's box.
      const whole = ringBounds(tileOutline(t.tileId) ?? []);
      expect(whole[2] - whole[0]).toBeGreaterThan(box[2] - box[0]);
    }
    expect(labels.flatMap((l) => l.lines).sort()).toEqual(RiTiles.map((t) => `${t} done`));
    expect(labels.find((l) => l.lines.includes("18TYM done"))?.lines).toEqual(["18TYM done", "19TBG done"]);
    for (const l of labels) {
      expect(l.at[0]).toBeGreaterThan(box[0]);
      expect(l.at[0]).toBeLessThan(box[2]);
      expect(l.at[1]).toBeGreaterThan(box[1]);
      expect(l.at[1]).toBeLessThan(box[3]);
    }
  });

  it("leaves out a tile that does not reach the box", () => {
    const far: Extent = [box[2] + 500_000, box[1], box[2] + 600_000, box[3]];
    expect(tileLayers([{ tileId: "19TCG", state: "done" }], far)).toEqual({ tiles: [], labels: [] });
  });
});
