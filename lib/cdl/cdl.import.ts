import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { GeoTIFFImage } from "geotiff";
import type { Config } from "../config/config.schema.ts";
import { formatS3Url } from "../core/s3.url.ts";
import { CdlEpsg } from "../grid/crs.ts";
import { gridBounds, windowOf } from "../grid/lattice.ts";
import { polygonTouchesRect } from "../grid/planar.ts";
import { openCog } from "../raster/cog.reader.ts";
import { CogContentType, encodeCog } from "../raster/cog.writer.ts";
import type { Raster } from "../raster/raster.types.ts";
import { rasterizeRings } from "../raster/rasterize.ts";
import { type StateExtent, stateExtent } from "../region/state.extent.ts";
import { allStates, type UsState } from "../region/us.states.ts";
import { type FileSource, openFileSource } from "../source/file.source.ts";
import { type CdlHeader, CdlInputError, checkCdlHeader } from "./cdl.header.ts";
import type { CdlImportInput } from "./cdl.import.spec.ts";
import { stateCdlKey } from "./cdl.keys.ts";
import { describeSource, fetchCdlSource } from "./cdl.source.ts";

/**
 * With no state named, a state is written when the raster labels at least this share of it: all of
 * them from the national file, only its own from a state extract. A neighbour that a state
 * extract's box reaches into holds at most a sliver where outlines differ, and must not replace
 * that neighbour's own raster.
 */
const CoveredShare = 0.5;

/** Rows read at a time: memory stays at the state's box plus one band of rows. */
const RowsPerRead = 512;

export interface StateCut {
  extent: StateExtent;
  raster: Raster<Uint8Array>;
  /** Pixels inside the state's outline, and those of them the source labels (nonzero). */
  inside: number;
  labelled: number;
}

/** The states to cut: those named (each must meet the raster), or every state whose outline meets it. */
export function statesToCut(header: CdlHeader, named: readonly UsState[] | undefined): StateExtent[] {
  const extent = gridBounds(header.grid);
  const meets = (e: StateExtent) => e.rings.some((polygon) => polygonTouchesRect(polygon, extent));
  if (!named) return allStates().map(stateExtent).filter(meets);
  return named.map((state) => {
    const e = stateExtent(state);
    if (!meets(e))
      throw new CdlInputError(
        `state=${state.postal}: ${state.name} does not meet ${header.source} ` +
          `(x ${extent[0]}..${extent[2]}, y ${extent[1]}..${extent[3]} in EPSG:5070)`,
      );
    return e;
  });
}

/**
 * A state's raster cut from the source: the state's box on the national grid, the source's codes
 * inside the state's outline and 0 (background) outside it or where the source does not reach.
 * The source is read a band of rows at a time, only where it overlaps the box.
 */
export async function cutState(
  image: GeoTIFFImage,
  header: CdlHeader,
  extent: StateExtent,
): Promise<StateCut> {
  const { grid } = extent;
  const data = new Uint8Array(grid.width * grid.height);
  const edges = extent.rings.flat();
  // Where the state's box lies in the source: the source column/row of the box's first pixel.
  const { col0, row0, window } = windowOf(grid, header.grid);
  let inside = 0;
  let labelled = 0;
  for (let top = 0; top < grid.height; top += RowsPerRead) {
    const rows = Math.min(RowsPerRead, grid.height - top);
    const mask = rasterizeRings(edges, {
      origin: [grid.origin[0], grid.origin[1] - top * grid.pixelSize],
      pixelSize: grid.pixelSize,
      width: grid.width,
      height: rows,
    });
    for (let i = 0; i < mask.length; i++) inside += mask[i] as number;
    if (!window) continue;
    const [c0, r0, c1, r1] = window;
    const s0 = Math.max(r0, row0 + top);
    const s1 = Math.min(r1, row0 + top + rows);
    if (s1 <= s0) continue;
    const codes = (await image.readRasters({
      window: [c0, s0, c1, s1],
      samples: [0],
      interleave: true,
    })) as unknown as Uint8Array;
    const w = c1 - c0;
    for (let s = s0; s < s1; s++) {
      const row = s - row0;
      for (let c = c0; c < c1; c++) {
        const col = c - col0;
        const code = codes[(s - s0) * w + (c - c0)] as number;
        if (code === 0 || !mask[(row - top) * grid.width + col]) continue;
        data[row * grid.width + col] = code;
        labelled++;
      }
    }
  }
  const geo = { epsg: CdlEpsg, origin: grid.origin, pixelSize: grid.pixelSize };
  return {
    extent,
    raster: { width: grid.width, height: grid.height, data, geo, nodata: 0 },
    inside,
    labelled,
  };
}

/** The year a file's USDA name carries (`2022_30m_cdls.tif`, CropScape's `CDL_2022_19.tif`), if any. */
function yearInName(name: string): number | undefined {
  const match = /^(\d{4})_30m_cdls\.tif$/i.exec(name) ?? /^CDL_(\d{4})_\d{2}\.tif$/i.exec(name);
  return match ? Number(match[1]) : undefined;
}

export interface ImportDeps {
  s3: S3Client;
  config: Config;
  log: (line: string) => void;
}

/**
 * Imports a CDL raster (national file, .zip or CropScape state extract) as one COG per state at
 * `<cdl>/<year>/CDL_<year>_<fips>.tif`. Everything about the input is checked (source, header,
 * named states) before the first state is written; re-importing overwrites with the same bytes.
 * Returns the URLs written.
 */
export async function importCdl(input: CdlImportInput, { s3, config, log }: ImportDeps): Promise<string[]> {
  const source = describeSource(input.source);
  const dir = await mkdtemp(join(tmpdir(), "crop-map-cdl-"));
  // Interrupted (Ctrl-C, a scheduler's SIGTERM), the process ends without running `finally`: the
  // download (gigabytes for the national zip) is removed first, then the signal does what it would.
  const interrupted = (signal: NodeJS.Signals) => {
    rmSync(dir, { recursive: true, force: true });
    process.kill(process.pid, signal);
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  let file: FileSource | undefined;
  try {
    const { path, name, label } = await fetchCdlSource(input.source, s3, dir);
    const year = yearInName(name);
    if (year !== undefined && year !== input.year)
      throw new CdlInputError(`year=${input.year}: ${source} holds ${name}, the ${year} CDL`);
    // Through the checked reader (header, directory, bounded inflate): a refusal names `label`.
    file = await openFileSource(path, label);
    const image = await openCog(file);
    const header = await checkCdlHeader(image, source);
    const states = statesToCut(header, input.state);
    log(
      `${source}: ${header.grid.width} x ${header.grid.height} px on the national CDL grid, ` +
        `${header.colorMap ? "with" : "without"} a colour table; meets ${states.map((e) => e.state.postal).join(" ")}`,
    );
    const written: string[] = [];
    const unlabelled: string[] = [];
    for (const extent of states) {
      const started = performance.now();
      const cut = await cutState(image, header, extent);
      const share = cut.inside > 0 ? cut.labelled / cut.inside : 0;
      const percent = `${(share * 100).toFixed(1)} % of ${extent.state.name} labelled`;
      if (input.state ? cut.labelled === 0 : share < CoveredShare) {
        log(`${extent.state.postal}  skipped: ${percent}`);
        unlabelled.push(extent.state.postal);
        continue;
      }
      const bytes = await encodeCog(cut.raster, {
        overviews: "nearest",
        ...(header.colorMap ? { colorMap: header.colorMap } : {}),
      });
      const key = `${config.storage.cdl.prefix}${stateCdlKey(input.year, extent.state.fips)}`;
      await new Upload({
        client: s3,
        params: { Bucket: config.storage.cdl.bucket, Key: key, Body: bytes, ContentType: CogContentType },
        partSize: 16 << 20,
        queueSize: 2,
      }).done();
      const url = formatS3Url({ bucket: config.storage.cdl.bucket, prefix: "" }, key);
      written.push(url);
      log(
        `${extent.state.postal}  ${url}  ${cut.raster.width} x ${cut.raster.height} px, ${percent}, ` +
          `${(bytes.length / 1e6).toFixed(1)} MB, ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    }
    if (input.state && unlabelled.length > 0)
      throw new Error(`${source} has no label inside ${unlabelled.join(", ")}: nothing written for them`);
    if (written.length === 0)
      throw new CdlInputError(
        `${source} labels no state to at least ${CoveredShare * 100} %: name the states to import with --state`,
      );
    return written;
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    await file?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
