/**
 * Mosaic and rollup throughput and peak memory of the windowed mosaic (the report's map step), on
 * synthetic full-size tile maps on the configured storage (`npx crop-map dev up` first). Each region
 * size runs in a process of its own, so peak RSS is that size's alone; memory flat in region size
 * is the target, with throughput >= 50 Mpx/s. Reference in the same process: bare confusion
 * accumulation over as many pixels.
 *
 *   npx tsx scripts/bench/mosaic.bench.ts [--sizes 2x2,4x4,6x6] [--tile-px 4500] [--json <file>]
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { parseArgs, promisify } from "node:util";
import { accumulate, emptyConfusion } from "../../lib/accuracy/confusion.ts";
import { ClassPalette } from "../../lib/cdl/classes.ts";
import { loadConfig } from "../../lib/config/config.load.ts";
import { NationalCdlGrid } from "../../lib/grid/crs.ts";
import type { Ring } from "../../lib/grid/planar.ts";
import { seededRandom } from "../../lib/random.ts";
import { encodeCog } from "../../lib/raster/cog.writer.ts";
import { mosaicInStrips } from "../../lib/report/mosaic.strips.ts";
import { type MosaicGrid, unionGrid } from "../../lib/report/mosaic.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { putBytes, ref } from "../../lib/storage/s3.objects.ts";
import { type BenchFigure, JsonOption, ratioFigure, writeBenchRecord } from "./bench.record.ts";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "2x2,4x4" },
    "tile-px": { type: "string", default: "4500" },
    /** Internal: run one size in this process and print its figures as JSON. */
    one: { type: "string" },
    prefix: { type: "string" },
    ...JsonOption,
  },
});
const tilePx = Number(values["tile-px"]);
// HLS tiles overlap their neighbours by 9.8 km of 109.8 (327 of 3660 px): keep that share.
const step = Math.round(tilePx * (1 - 9.8 / 109.8));

function tileGrid(i: number, j: number): MosaicGrid {
  const { originX, originY, pixelSize } = NationalCdlGrid;
  const col = 40_000 + i * step;
  const row = 40_000 + j * step;
  return {
    epsg: 5070,
    origin: [originX + col * pixelSize, originY - row * pixelSize],
    pixelSize,
    width: tilePx,
    height: tilePx,
  };
}

/** A field-like class map (24 px cells, some empty) and a confidence map, as a tile's COGs. */
async function tileMaps(seed: number, grid: MosaicGrid) {
  const random = seededRandom(seed);
  const cells = new Uint8Array(Math.ceil(tilePx / 24) ** 2).map(() =>
    random() < 0.05 ? 0 : 1 + Math.floor(random() * 13),
  );
  const across = Math.ceil(tilePx / 24);
  const classes = new Uint8Array(tilePx * tilePx);
  const confidence = new Uint8Array(tilePx * tilePx);
  for (let y = 0; y < tilePx; y++)
    for (let x = 0; x < tilePx; x++) {
      const c = cells[Math.floor(y / 24) * across + Math.floor(x / 24)] as number;
      classes[y * tilePx + x] = c;
      confidence[y * tilePx + x] = c === 0 ? 255 : 40 + ((x * 7 + y * 3 + seed) % 60);
    }
  const geo = { epsg: 5070, origin: grid.origin, pixelSize: grid.pixelSize };
  const size = { width: tilePx, height: tilePx };
  return Promise.all([
    encodeCog({ ...size, data: classes, geo, nodata: 0 }, { overviews: "nearest", colorMap: ClassPalette }),
    encodeCog({ ...size, data: confidence, geo, nodata: 255 }, { overviews: "average" }),
  ]);
}

async function runOne(spec: string, prefix: string): Promise<void> {
  const [across, down] = spec.split("x").map(Number) as [number, number];
  const config = loadConfig();
  const s3 = createS3Client(config);
  const tiles = [];
  for (let j = 0; j < down; j++)
    for (let i = 0; i < across; i++) tiles.push({ tileId: `T${i}-${j}`, grid: tileGrid(i, j) });
  const grid = unionGrid(tiles.map((t) => t.grid));
  const [x0, y0] = grid.origin;
  const x1 = x0 + grid.width * grid.pixelSize;
  const y1 = y0 - grid.height * grid.pixelSize;
  const region: Ring[] = [
    [
      [x0, y0],
      [x1, y0],
      [x1, y1],
      [x0, y1],
    ],
  ];
  const started = performance.now();
  const built = await mosaicInStrips(s3, {
    grid,
    rings: region,
    tiles: tiles.map((t) => ({
      ...t,
      classes: ref(config.storage.outputs, `${prefix}${t.tileId}/classes.tif`),
      confidence: ref(config.storage.outputs, `${prefix}${t.tileId}/confidence.tif`),
    })),
    labels: [],
    states: [],
    tmpRoot: tmpdir(),
  });
  const seconds = (performance.now() - started) / 1000;
  await rm(built.dir, { recursive: true, force: true });
  const pixels = grid.width * grid.height;
  // Reference: confusion accumulation alone over as many pixels (at most 200 Mpx of it, scaled).
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
      mpx: pixels / 1e6,
      seconds,
      mpxPerSecond: pixels / seconds / 1e6,
      bareMpxPerSecond: bare / 1e6,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    }),
  );
  s3.destroy();
}

if (values.one) {
  await runOne(values.one, values.prefix as string);
} else {
  const config = loadConfig();
  const s3 = createS3Client(config);
  const prefix = `bench-mosaic-${randomUUID().slice(0, 8)}/`;
  const sizes = (values.sizes as string).split(",");
  const largest = sizes
    .map((s) => s.split("x").map(Number) as [number, number])
    .reduce((a, b) => [Math.max(a[0], b[0]), Math.max(a[1], b[1])]);
  console.log(`writing ${largest[0] * largest[1]} synthetic ${tilePx} px tile maps under ${prefix} ...`);
  for (let j = 0; j < largest[1]; j++)
    for (let i = 0; i < largest[0]; i++) {
      const [classes, confidence] = await tileMaps(j * 100 + i, tileGrid(i, j));
      await putBytes(
        s3,
        ref(config.storage.outputs, `${prefix}T${i}-${j}/classes.tif`),
        classes,
        "image/tiff",
      );
      await putBytes(
        s3,
        ref(config.storage.outputs, `${prefix}T${i}-${j}/confidence.tif`),
        confidence,
        "image/tiff",
      );
    }
  s3.destroy();
  console.log("| region | tiles | Mpx | seconds | Mpx/s | bare rollup Mpx/s | ratio | peak RSS MB |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  const figures: BenchFigure[] = [];
  for (const size of sizes) {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        ...process.execArgv,
        process.argv[1] as string,
        "--one",
        size,
        "--prefix",
        prefix,
        "--tile-px",
        String(tilePx),
      ],
      { maxBuffer: 1 << 20 },
    );
    const r = JSON.parse(stdout.trim().split("\n").pop() as string);
    console.log(
      `| ${r.size} | ${r.tiles} | ${r.mpx.toFixed(0)} | ${r.seconds.toFixed(1)} | ${r.mpxPerSecond.toFixed(1)} | ${r.bareMpxPerSecond.toFixed(0)} | ${(r.mpxPerSecond / r.bareMpxPerSecond).toFixed(3)} | ${r.peakRssMb.toFixed(0)} |`,
    );
    figures.push({
      ...ratioFigure(`mosaic ${r.size} (${r.mpx.toFixed(0)} Mpx)`, r.mpxPerSecond, "Mpx/s", {
        name: "bare confusion accumulation",
        value: r.bareMpxPerSecond,
      }),
      target: ">= 50 Mpx/s",
      peakRssMb: r.peakRssMb,
    });
  }
  await writeBenchRecord(values.json, {
    bench: "mosaic.bench.ts",
    setup: `synthetic ${tilePx} px tile maps with HLS overlap, each size in its own process`,
    figures,
  });
}
