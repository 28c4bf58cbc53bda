import type { S3Client } from "@aws-sdk/client-s3";
import { ClassPalette, CropClasses } from "../cdl/classes.ts";
import type { Config } from "../config/config.schema.ts";
import { CdlEpsg, proj4Definition } from "../grid/crs.ts";
import { objectSize, ref } from "../storage/s3.objects.ts";
import type { ViewerConfig } from "./page/viewer.config.ts";
import { type RunEntry, runPrefix } from "./run.catalogue.ts";
import { quicklookExtent, runMap, tileOutline } from "./run.layers.ts";

/**
 * What the map page draws for a run: its map's extent (map.tif, or a region's overview; the page
 * reads the COG itself), the quicklook overlays on its grid, and every tile's footprint with its state.
 */
export async function pageConfig(
  s3: S3Client,
  config: Pick<Config, "storage">,
  run: RunEntry,
): Promise<ViewerConfig> {
  const base = `/runs/${encodeURIComponent(run.runId)}`;
  const map = run.hasMap ? await runMap(s3, config, run.runId) : undefined;
  const grid = map?.grid;
  const extent = grid && quicklookExtent(grid);
  const has = async (file: string) =>
    grid !== undefined &&
    (await objectSize(s3, ref(config.storage.outputs, `${runPrefix(run.runId)}${file}`))) !== undefined;
  const [labels, disagreement] = await Promise.all([has("labels.png"), has("disagreement.png")]);
  const [ox, oy] = grid?.origin ?? [0, 0];
  return {
    runId: run.runId,
    albers: proj4Definition(CdlEpsg),
    map: map
      ? {
          url: `${base}/files/${map.key}`,
          overview: map.key !== "map.tif",
          extent: [
            ox,
            oy - map.grid.height * map.grid.pixelSize,
            ox + map.grid.width * map.grid.pixelSize,
            oy,
          ],
        }
      : null,
    overlays: extent
      ? [
          ...(labels ? [{ id: "labels" as const, url: `${base}/files/labels.png`, extent }] : []),
          ...(disagreement
            ? [{ id: "disagreement" as const, url: `${base}/files/disagreement.png`, extent }]
            : []),
        ]
      : [],
    tiles: run.tiles.flatMap((t) => {
      const ring = tileOutline(t.tileId);
      return ring ? [{ ...t, ring: ring.map(([x, y]) => [x, y] as [number, number]) }] : [];
    }),
    palette: ClassPalette.slice(0, CropClasses.length + 1),
    pixelUrl: `/api${base}/pixel`,
  };
}
