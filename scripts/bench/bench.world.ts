/**
 * For the read and stage benchmarks: a stack of their own on free ports, holding a few full-size
 * (3660 px) granules of one synthetic tile, one per season window as granule choice would pick.
 */
import { formatGranuleId, type GranuleId } from "../../lib/contracts/granule.id.ts";
import { encodeGranule } from "../synth/granule.encode.ts";
import { createGround } from "../synth/ground.ts";
import { profileForState } from "../synth/profiles.ts";
import { granuleIdFor } from "../synth/schedule.ts";
import { prepareTileGround, renderGranule } from "../synth/tile.render.ts";
import { type PlannedTile, planWorld } from "../synth/world.plan.ts";
import { uploadGranule } from "../synth/world.writer.ts";
import { type BenchStack, startBenchStack } from "./bench.stack.ts";

/** The full-scale Rhode Island world the benchmarks draw on (seed 1), and one tile of it. */
export function benchTile(tileId: string, season = { start: "04-01", end: "10-31" }): PlannedTile {
  const plan = planWorld({ state: "RI", year: 2022, scale: "full", seed: 1, season });
  const planned = plan.tiles.find((t) => t.tile.tileId === tileId);
  if (!planned) throw new Error(`tile ${tileId} is not in the bench world`);
  return planned;
}

export interface BenchWorld extends BenchStack {
  tileId: string;
  /** Granule ids in date order. */
  granules: string[];
  ids: GranuleId[];
  stop(): Promise<void>;
}

export async function startBenchWorld(tileId = "19TCG", count = 3): Promise<BenchWorld> {
  const stack = await startBenchStack();
  const { s3, config } = stack;
  const planned = benchTile(tileId);
  // Clear, whole-swath dates spread over the season: the first, middle and last such.
  const clear = planned.acquisitions.filter((a) => !a.swath && a.cloudTarget === 0);
  const chosen = Array.from(
    { length: count },
    (_, k) => clear[Math.round((k * (clear.length - 1)) / Math.max(1, count - 1))],
  );
  const prepared = prepareTileGround(planned.window, createGround(profileForState("RI"), 1));
  const ids: GranuleId[] = [];
  for (const acquisition of chosen) {
    if (!acquisition) continue;
    const id = granuleIdFor(planned.tile, 2022, acquisition, planned.centreLon);
    const rendered = renderGranule(prepared, acquisition);
    await uploadGranule(
      { s3, config },
      id,
      planned.window,
      rendered,
      await encodeGranule(id, planned.window, rendered),
    );
    ids.push(id);
  }
  return { ...stack, tileId, granules: ids.map(formatGranuleId), ids };
}
