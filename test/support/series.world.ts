import type { S3Client } from "@aws-sdk/client-s3";
import type { Config } from "../../lib/config/config.schema.ts";
import { CdlEpsg, transform } from "../../lib/grid/crs.ts";
import { snapToNationalGrid } from "../../lib/grid/lattice.ts";
import { densify, ringBounds } from "../../lib/grid/planar.ts";
import { planWorld } from "../../scripts/synth/world.plan.ts";
import { writeTestWorld } from "./test.world.ts";

/**
 * One tile of the Iowa demo world at small scale (a corn-and-soy world with every crop the two
 * families must tell apart), its labels over that tile only: the state's full label box would
 * take minutes to draw.
 */
export async function writeIowaTile(s3: S3Client, config: Config, tileId: string) {
  const plan = planWorld({
    state: "IA",
    year: 2022,
    scale: "small",
    seed: 5,
    season: { start: "04-01", end: "10-31" },
  });
  const tiles = plan.tiles.filter((t) => t.tile.tileId === tileId);
  const w = (tiles[0] as (typeof tiles)[number]).window;
  const toAlbers = transform(w.epsg, CdlEpsg);
  const x1 = w.origin[0] + w.width * w.pixelSize;
  const y0 = w.origin[1] - w.height * w.pixelSize;
  const ring = densify(
    [
      [w.origin[0], y0],
      [x1, y0],
      [x1, w.origin[1]],
      [w.origin[0], w.origin[1]],
    ],
    1000,
  ).map((p) => toAlbers.forward(p));
  await writeTestWorld({ ...plan, tiles, cdl: snapToNationalGrid(ringBounds(ring)) }, { s3, config });
  return plan;
}
