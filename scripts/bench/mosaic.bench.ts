/**
 * Mosaic and rollup throughput, per-phase time and peak memory of the windowed mosaic (the report's
 * map step), on synthetic full-size tile maps and a CDL-like label raster, on a stack of its own
 * (free ports, removed after). Each region size runs in a process of its own, so peak RSS is that
 * size's alone: memory flat in region size is the target, with throughput >= 50 Mpx/s. Reference
 * in the same process: bare confusion accumulation over as many pixels. `--states`: the region is
 * the us-atlas outlines of the states under the tiles (IA, MN, NE, SD meet there), each state's
 * rollup kept, as a multi-state run's mosaic rasterises them; without it, a rectangle.
 *
 * `--deflate-level`: the zlib level of the mosaic's COGs (the config's `mosaic.deflateLevel`); their
 * sizes are reported beside the speed.
 *
 *   npx tsx scripts/bench/mosaic.bench.ts [--sizes 1x1,2x2,4x1] [--tile-px 4500] [--states] [--deflate-level 1] [--json <file>]
 */

import { execFile } from "node:child_process";
import { rm, stat } from "node:fs/promises";
import { parseArgs, promisify } from "node:util";
import { accumulate, emptyConfusion } from "../../lib/accuracy/confusion.ts";
import { ClassPalette } from "../../lib/cdl/classes.ts";
import { loadConfig } from "../../lib/config/config.load.ts";
import { DefaultConfig } from "../../lib/config/config.schema.ts";
import type { MosaicGrid } from "../../lib/contracts/grid.contract.ts";
import { CdlEpsg, NationalCdlGrid, transform } from "../../lib/grid/crs.ts";
import { gridBounds } from "../../lib/grid/lattice.ts";
import type { Ring } from "../../lib/grid/planar.ts";
import { seededRandom } from "../../lib/random.ts";
import { CogStripWriter } from "../../lib/raster/cog.strip.writer.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import { statesMeeting } from "../../lib/region/state.extent.ts";
import { type MosaicProfile, mosaicInStrips } from "../../lib/report/mosaic.strips.ts";
import { unionGrid } from "../../lib/report/mosaic.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { putBytes, putFile, ref } from "../../lib/storage/s3.objects.ts";
import { type BenchFigure, JsonOption, ratioFigure, writeBenchRecord } from "./bench.record.ts";
import { withPrivateStack } from "./bench.stack.ts";
import { cpuSecondsOf } from "./cpu.time.ts";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "1x1,2x2,4x1" },
    "tile-px": { type: "string", default: "4500" },
    states: { type: "boolean", default: false },
    "deflate-level": { type: "string", default: String(DefaultConfig.mosaic.deflateLevel) },
    /** Internal: run one size in this process (on the parent's stack) and print its figures as JSON. */
    one: { type: "string" },
    ...JsonOption,
  },
});
const tilePx = Number(values["tile-px"]);
const deflateLevel = Number(values["deflate-level"]);
// HLS tiles overlap their neighbours by 9.8 km of 109.8 (327 of 3660 px): keep that share.
const step = Math.round(tilePx * (1 - 9.8 / 109.8));
const LabelKey = "bench-mosaic/labels.tif";

/** The first tile's corner: on the CDL lattice, north-west of where IA, MN, NE and SD meet. */
const corner = (() => {
  const [x, y] = transform(4326, CdlEpsg).forward([-97.6, 44.4]);
  const { originX, originY, pixelSize } = NationalCdlGrid;
  return [Math.round((x - originX) / pixelSize), Math.round((originY - y) / pixelSize)] as const;
})();

function tileGrid(i: number, j: number): MosaicGrid {
  const { originX, originY, pixelSize } = NationalCdlGrid;
  return {
    epsg: CdlEpsg,
    origin: [originX + (corner[0] + i * step) * pixelSize, originY - (corner[1] + j * step) * pixelSize],
    pixelSize,
    width: tilePx,
    height: tilePx,
  };
}

function tilesOf(spec: string): { tileId: string; grid: MosaicGrid }[] {
  const [across, down] = spec.split("x").map(Number) as [number, number];
  const tiles = [];
  for (let j = 0; j < down; j++)
    for (let i = 0; i < across; i++) tiles.push({ tileId: `T${i}-${j}`, grid: tileGrid(i, j) });
  return tiles;
}

/** A field-like class map (24 px cells, some empty) and a confidence map, as a tile's COGs. */
async function tileMaps(seed: number, grid: MosaicGrid) {
  const random = seededRandom(seed);
  const across = Math.ceil(tilePx / 24);
  const cells = new Uint8Array(across ** 2).map(() => (random() < 0.05 ? 0 : 1 + Math.floor(random() * 13)));
  const classes = new Uint8Array(tilePx * tilePx);
  const confidence = new Uint8Array(tilePx * tilePx);
  for (let y = 0; y < tilePx; y++)
    for (let x = 0; x < tilePx; x++) {
      const c = cells[Math.floor(y / 24) * across + Math.floor(x / 24)] as number;
      classes[y * tilePx + x] = c;
      confidence[y * tilePx + x] = c === 0 ? 255 : 40 + ((x * 7 + y * 3 + seed) % 60);
    }
  const geo = { epsg: CdlEpsg, origin: grid.origin, pixelSize: grid.pixelSize };
  const size = { width: tilePx, height: tilePx };
  return Promise.all([
    encodeCog({ ...size, data: classes, geo, nodata: 0 }, { overviews: "nearest", colorMap: ClassPalette }),
    encodeCog({ ...size, data: confidence, geo, nodata: 255 }, { overviews: "average" }),
  ]);
}

/** A CDL-like label raster over `grid` (30 px fields of real codes, some background), strip by strip. */
async function labelRaster(grid: MosaicGrid, dir: string): Promise<string> {
  const codes = [1, 5, 24, 36, 61, 141, 111, 121, 190, 176, 2, 4, 0];
  const random = seededRandom(7);
  const across = Math.ceil(grid.width / 30);
  const fields = Uint8Array.from(
    { length: across * Math.ceil(grid.height / 30) },
    () => codes[Math.floor(random() * codes.length)] as number,
  );
  const head = { width: grid.width, height: grid.height, geo: grid, data: new Uint8Array(0), nodata: 0 };
  const writer = await CogStripWriter.create(head, {}, dir);
  for (let row0 = 0; row0 < grid.height; row0 += 512) {
    const rows = Math.min(512, grid.height - row0);
    const strip = new Uint8Array(rows * grid.width);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < grid.width; c++)
        strip[r * grid.width + c] = fields[
          Math.floor((row0 + r) / 30) * across + Math.floor(c / 30)
        ] as number;
    await writer.append(strip);
  }
  const file = `${dir}/labels.tif`;
  await writer.finish(file);
  return file;
}

async function runOne(spec: string): Promise<void> {
  const config = loadConfig();
  const s3 = createS3Client(config);
  const tiles = tilesOf(spec);
  const grid = unionGrid(tiles.map((t) => t.grid));
  const [x0, y0] = grid.origin;
  const x1 = x0 + grid.width * grid.pixelSize;
  const y1 = y0 - grid.height * grid.pixelSize;
  const states = values.states ? statesMeeting(gridBounds(grid)) : [];
  const rectangle: Ring[] = [
    [
      [x0, y0],
      [x1, y0],
      [x1, y1],
      [x0, y1],
    ],
  ];
  const profile: MosaicProfile = {};
  // Peak RSS alone hides what it is made of: the JS heap, or buffers that wait for a collection.
  const peaks = { heapTotal: 0, arrayBuffers: 0 };
  const sampler = setInterval(() => {
    const { heapTotal, arrayBuffers } = process.memoryUsage();
    peaks.heapTotal = Math.max(peaks.heapTotal, heapTotal / 2 ** 20);
    peaks.arrayBuffers = Math.max(peaks.arrayBuffers, arrayBuffers / 2 ** 20);
  }, 50);
  const cpu = process.cpuUsage();
  const mainCpu = cpuSecondsOf("thread-self");
  const started = performance.now();
  const built = await mosaicInStrips(s3, {
    grid,
    rings: values.states ? states.flatMap((s) => s.rings) : rectangle,
    tiles: tiles.map((t) => ({
      ...t,
      classes: ref(config.storage.outputs, `bench-mosaic/${t.tileId}/classes.tif`),
      confidence: ref(config.storage.outputs, `bench-mosaic/${t.tileId}/confidence.tif`),
    })),
    labels: [ref(config.storage.cdl, LabelKey)],
    states,
    tmpRoot: process.env.CROP_MAP_BENCH_TMP as string,
    deflateLevel,
    profile,
  });
  const seconds = (performance.now() - started) / 1000;
  // Before the reference below allocates its own tens of MB.
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const { user, system } = process.cpuUsage(cpu);
  const mainCpuSeconds = cpuSecondsOf("thread-self") - mainCpu;
  clearInterval(sampler);
  const cogMb = await Promise.all(
    ["map.tif", "confidence.tif"].map(async (f) => (await stat(`${built.dir}/${f}`)).size / 1e6),
  );
  await rm(built.dir, { recursive: true, force: true });
  const pixels = grid.width * grid.height;
  // Reference: confusion accumulation alone over as many pixels (at most 50 Mpx of it, scaled).
  const n = Math.min(pixels, 50_000_000);
  const random = seededRandom(1);
  const labels = Uint8Array.from({ length: n }, () => 1 + Math.floor(random() * 13));
  const t = performance.now();
  accumulate(emptyConfusion(13), labels, labels);
  const bare = n / ((performance.now() - t) / 1000);
  console.log(
    JSON.stringify({
      size: spec,
      tiles: tiles.length,
      states: states.map((s) => s.name),
      mpx: pixels / 1e6,
      seconds,
      // Every thread's: on a shared machine, what the work costs whatever share of the cores it got.
      cpuSeconds: (user + system) / 1e6,
      // The main thread pastes, counts and samples; the rest is decode and encode on the raster
      // threads, and V8's own (garbage collection).
      mainCpuSeconds,
      mpxPerSecond: pixels / seconds / 1e6,
      bareMpxPerSecond: bare / 1e6,
      peakRssMb,
      peakHeapMb: peaks.heapTotal,
      peakBuffersMb: peaks.arrayBuffers,
      labelled: built.rollups.run.labelled,
      cogMb,
      profile,
    }),
  );
  s3.destroy();
}

if (values.one) {
  await runOne(values.one);
} else {
  const sizes = (values.sizes as string).split(",");
  const figures: BenchFigure[] = [];
  await withPrivateStack(async (config, s3, dir) => {
    // The tiles of every size (they share the corner), and labels over their union.
    const all = [...new Map(sizes.flatMap(tilesOf).map((t) => [t.tileId, t])).values()];
    console.log(`writing ${all.length} synthetic ${tilePx} px tile maps and their labels ...`);
    for (const [k, { tileId, grid }] of all.entries()) {
      const [classes, confidence] = await tileMaps(k, grid);
      await putBytes(
        s3,
        ref(config.storage.outputs, `bench-mosaic/${tileId}/classes.tif`),
        classes,
        "image/tiff",
      );
      await putBytes(
        s3,
        ref(config.storage.outputs, `bench-mosaic/${tileId}/confidence.tif`),
        confidence,
        "image/tiff",
      );
    }
    const labels = await labelRaster(unionGrid(all.map((t) => t.grid)), dir);
    await putFile(s3, ref(config.storage.cdl, LabelKey), labels, "image/tiff");
    await rm(labels);
    console.log(
      "| region | tiles | Mpx | seconds | CPU s (main thread) | Mpx/s | bare rollup Mpx/s | ratio | peak RSS MB | peak JS heap / buffers MB | map / confidence MB | main-thread ms by phase |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const size of sizes) {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          ...process.execArgv,
          process.argv[1] as string,
          "--one",
          size,
          "--tile-px",
          String(tilePx),
          ...(values.states ? ["--states"] : []),
          "--deflate-level",
          String(deflateLevel),
        ],
        {
          maxBuffer: 1 << 20,
          env: { ...process.env, CROP_MAP_S3_ENDPOINT: config.s3.endpoint, CROP_MAP_BENCH_TMP: dir },
        },
      );
      const r = JSON.parse(stdout.trim().split("\n").pop() as string);
      const phases = Object.entries(r.profile as Record<string, number>)
        .map(([k, v]) => `${k} ${v.toFixed(0)}`)
        .join(", ");
      console.log(
        `| ${r.size} | ${r.tiles} | ${r.mpx.toFixed(0)} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(1)} (${r.mainCpuSeconds.toFixed(1)}) | ${r.mpxPerSecond.toFixed(1)} | ${r.bareMpxPerSecond.toFixed(0)} | ${(r.mpxPerSecond / r.bareMpxPerSecond).toFixed(3)} | ${r.peakRssMb.toFixed(0)} | ${r.peakHeapMb.toFixed(0)} / ${r.peakBuffersMb.toFixed(0)} | ${r.cogMb.map((mb: number) => mb.toFixed(1)).join(" / ")} | ${phases} |`,
      );
      if (r.states.length > 0) console.log(`  states: ${r.states.join(", ")}`);
      figures.push({
        ...ratioFigure(
          `mosaic ${r.size} (${r.mpx.toFixed(0)} Mpx${values.states ? ", state outlines" : ""})`,
          r.mpxPerSecond,
          "Mpx/s",
          {
            name: "bare confusion accumulation",
            value: r.bareMpxPerSecond,
          },
        ),
        target: ">= 50 Mpx/s",
        peakRssMb: r.peakRssMb,
      });
    }
  });
  await writeBenchRecord(values.json, {
    bench: "mosaic.bench.ts",
    setup: `synthetic ${tilePx} px tile maps with HLS overlap and a CDL-like label raster, each size in its own process, mosaic COGs at deflate level ${deflateLevel}${values.states ? ", region and rollups by us-atlas state outlines" : ""}`,
    figures,
  });
}
