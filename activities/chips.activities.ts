import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { heartbeat } from "@temporalio/activity";
import { labelClassesFor } from "../lib/accuracy/label.window.ts";
import { ClassPalette } from "../lib/cdl/classes.ts";
import { classHistogram, clipNegative, judgeChip } from "../lib/chips/chip.filter.ts";
import {
  boxOf,
  type ChipCell,
  type ChipLattice,
  chipId,
  cutCell,
  type Footprint,
  ownedChips,
} from "../lib/chips/chip.grid.ts";
import { chooseChipScenes } from "../lib/chips/chip.scenes.ts";
import type { Config } from "../lib/config/config.schema.ts";
import {
  type ChipRecord,
  type ChipTileManifest,
  ChipTileManifestParser,
  type ChipTileOutcome,
  type FindChipTileInput,
  FindChipTileInputParser,
  type MakeChipTileInput,
  MakeChipTileInputParser,
  type SceneChoice,
  type SelectChipScenesInput,
  SelectChipScenesInputParser,
} from "../lib/contracts/chips.contract.ts";
import type { TargetGrid } from "../lib/contracts/grid.contract.ts";
import { SeriesTileManifestParser } from "../lib/contracts/series.dataset.contract.ts";
import { findTile } from "../lib/grid/tile.table.ts";
import { lookUpTileYear } from "../lib/hls/granule.catalogue.ts";
import { createS3Archive, type HlsArchive } from "../lib/hls/hls.archive.ts";
import { encodeBands, encodeCog } from "../lib/raster/cog.writer.ts";
import type { Raster } from "../lib/raster/raster.types.ts";
import { getJson, putBytes, putJson, ref } from "../lib/storage/s3.objects.ts";
import { parseInput } from "./activity.failures.ts";
import { GranuleWarp } from "./granule.warp.ts";

/** Plain GeoTIFFs (a chip is one 224 px tile, no overviews), as the seed's dataset has them. */
const GeoTiffType = "image/tiff; application=geotiff";

export const chipTileManifestKey = (outputPrefix: string, tileId: string) =>
  `${outputPrefix}tiles/${tileId}.json`;

export function footprintOf(tileId: string): Footprint {
  const tile = findTile(tileId);
  if (!tile) throw new Error(`tile ${tileId} is not in the tile table`);
  return { epsg: tile.epsg, rect: tile.bounds };
}

const outcomeOf = (m: Pick<ChipTileManifest, "tileId" | "status" | "reason">): ChipTileOutcome => ({
  tileId: m.tileId,
  status: m.status,
  ...(m.reason ? { reason: m.reason } : {}),
});

export function createChipActivities(
  s3: S3Client,
  config: Config,
  archive: HlsArchive = createS3Archive(s3, config.storage.hls),
) {
  const { outputs } = config.storage;

  async function put(key: string, body: Buffer, type: string) {
    await putBytes(s3, ref(outputs, key), body, type);
    return { key, sha256: createHash("sha256").update(body).digest("hex"), bytes: body.length };
  }

  async function record(outputPrefix: string, manifest: ChipTileManifest): Promise<ChipTileOutcome> {
    await putJson(s3, ref(outputs, chipTileManifestKey(outputPrefix, manifest.tileId)), manifest);
    return outcomeOf(manifest);
  }

  return {
    /** A finished tile's outcome from its manifest; one that does not parse does not count (the tile is made again). */
    async findChipTile(raw: FindChipTileInput): Promise<ChipTileOutcome | null> {
      const input = parseInput(FindChipTileInputParser, raw, "findChipTile");
      const parser = input.kind === "series" ? SeriesTileManifestParser : ChipTileManifestParser;
      const parsed = parser.safeParse(
        await getJson(s3, ref(outputs, chipTileManifestKey(input.outputPrefix, input.tileId))),
      );
      return parsed.success ? outcomeOf(parsed.data) : null;
    },

    /** The tile's three S30 scenes by the seed's rule, from the catalogue records; or why there are none. */
    async selectChipScenes(raw: SelectChipScenesInput): Promise<SceneChoice> {
      const input = parseInput(SelectChipScenesInputParser, raw, "selectChipScenes");
      const { candidates } = await lookUpTileYear(archive, input.tileId, input.year, ["S30"]);
      return chooseChipScenes(input.year, candidates, input.scenes);
    },

    /**
     * Warps the three scenes (bands bilinear, Fmask nearest, cloud unmasked) onto the label grid
     * over the chips this tile owns, keeps the chips the seed's rule keeps, writes each chip's
     * 18-band `_merged.tif` and its `.mask.tif`, and then, last, the tile's manifest.
     */
    async makeChipTile(raw: MakeChipTileInput): Promise<ChipTileOutcome> {
      const input = parseInput(MakeChipTileInputParser, raw, "makeChipTile");
      const base = { tileId: input.tileId, year: input.year, dropped: { qa: 0, marker: 0, unlabelled: 0 } };
      if ("skipped" in input.choice)
        return record(input.outputPrefix, {
          ...base,
          status: "skipped",
          reason: input.choice.skipped,
          scenes: [],
          candidates: 0,
          chips: [],
        });
      const { scenes, coverage } = input.choice;
      const lattice: ChipLattice = { ...input.labelGrid, cells: input.chipCells };
      const n = input.chipCells;
      const footprints = new Map(input.datasetTiles.map((t) => [t, footprintOf(t)]));
      let cells: ChipCell[] = [];
      const warp = new GranuleWarp(
        archive,
        (fmask: Raster): TargetGrid => {
          const { origin, pixelSize, epsg } = fmask.geo;
          const data: Footprint = {
            epsg,
            rect: [
              origin[0],
              origin[1] - fmask.height * pixelSize,
              origin[0] + fmask.width * pixelSize,
              origin[1],
            ],
          };
          cells = ownedChips(lattice, input.tileId, footprints, data);
          // With no chip to make, one cell's box is warped (cheaply) and nothing is kept.
          return boxOf(lattice, cells.length ? cells : [{ col: 0, row: 0 }]);
        },
        "chips",
      );
      const bands: Int16Array[] = [];
      const fmasks: Uint8Array[] = [];
      for await (const granule of warp.warpEach(scenes.map((s) => s.id))) {
        bands.push(...granule.bands);
        fmasks.push(granule.fmask as Uint8Array);
        heartbeat({ warped: granule.granuleId });
      }
      const box = warp.grid as TargetGrid;
      const labels = cells.length
        ? await labelClassesFor(s3, input.labelGrid.rasters, box)
        : new Uint8Array();
      const chips: ChipRecord[] = [];
      const dropped = { ...base.dropped };
      for (const cell of cells) {
        const chipBands = bands.map((b) => cutCell(b, box, lattice, cell));
        const chipLabels = cutCell(labels, box, lattice, cell);
        const verdict = judgeChip(
          chipBands,
          fmasks.map((f) => cutCell(f, box, lattice, cell)),
          chipLabels,
        );
        if (verdict !== "keep") {
          dropped[verdict]++;
          continue;
        }
        const id = chipId(cell);
        const geo = {
          epsg: lattice.epsg,
          origin: [
            lattice.origin[0] + cell.col * n * lattice.pixelSize,
            lattice.origin[1] - cell.row * n * lattice.pixelSize,
          ] as [number, number],
          pixelSize: lattice.pixelSize,
        };
        const plane = (data: Int16Array | Uint8Array) => ({ width: n, height: n, geo, data });
        const merged = await encodeBands(
          chipBands.map((b) => plane(clipNegative(b))),
          { tileSize: n },
        );
        const mask = await encodeCog(plane(chipLabels), { tileSize: n, colorMap: ClassPalette });
        chips.push({
          id,
          ...cell,
          histogram: classHistogram(chipLabels),
          merged: await put(`${input.outputPrefix}chips/${id}_merged.tif`, merged, GeoTiffType),
          mask: await put(`${input.outputPrefix}chips/${id}.mask.tif`, mask, GeoTiffType),
        });
        heartbeat({ chip: id });
      }
      return record(input.outputPrefix, {
        ...base,
        status: "done",
        scenes,
        coverage,
        candidates: cells.length,
        dropped,
        chips,
        ...(cells.length === 0
          ? { reason: "no chip of the chip grid lies whole inside the tile's granules and belongs to it" }
          : {}),
      });
    },
  };
}
