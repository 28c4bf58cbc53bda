import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import { classAreas } from "../accuracy/class.areas.ts";
import { ClassPalette, CropClasses } from "../cdl/classes.ts";
import type { Config } from "../config/config.schema.ts";
import { CdlEpsg, proj4Definition } from "../grid/crs.ts";
import { getJson, objectSize, ref } from "../storage/s3.objects.ts";
import type { Extent, ViewerConfig } from "./page/viewer.config.ts";
import { type RunEntry, runPrefix } from "./run.catalogue.ts";
import {
  countedPixelSize,
  quicklookExtent,
  type RunMap,
  regionOutline,
  runMap,
  tileLayers,
} from "./run.layers.ts";

/** What accuracy.json holds that the legend needs: the run's confusion matrix (label x prediction). */
const ConfusionParser = z.object({ confusion: z.array(z.array(z.number().int().min(0))) });

/** Each class's mapped and CDL area from the run's accuracy.json; undefined before the run wrote it. */
async function classAreasOf(s3: S3Client, config: Pick<Config, "storage">, runId: string, map: RunMap) {
  const [accuracy, pixelSize] = await Promise.all([
    getJson(s3, ref(config.storage.outputs, `${runPrefix(runId)}accuracy.json`)),
    countedPixelSize(s3, config, runId, map),
  ]);
  const parsed = ConfusionParser.safeParse(accuracy);
  if (!parsed.success || pixelSize === undefined) return undefined;
  return { pixelSize, classes: classAreas(parsed.data.confusion, pixelSize) };
}

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
  const areas = map && (await classAreasOf(s3, config, run.runId, map));
  const [ox, oy] = grid?.origin ?? [0, 0];
  const mapExtent: Extent | undefined = grid && [
    ox,
    oy - grid.height * grid.pixelSize,
    ox + grid.width * grid.pixelSize,
    oy,
  ];
  const region = regionOutline(run.regionSpec);
  // Tiles are drawn on the map; before it exists, on the region's box that the map will fill.
  const box = mapExtent ?? region?.bounds;
  return {
    runId: run.runId,
    albers: proj4Definition(CdlEpsg),
    map: map
      ? {
          url: `${base}/files/${map.key}`,
          overview: map.key !== "map.tif",
          extent: mapExtent as Extent,
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
    region: region ? { name: run.region, rings: region.rings } : null,
    ...(box ? tileLayers(run.tiles, box) : { tiles: [], labels: [] }),
    areas: areas ?? null,
    palette: ClassPalette.slice(0, CropClasses.length + 1),
    pixelUrl: `/api${base}/pixel`,
  };
}
