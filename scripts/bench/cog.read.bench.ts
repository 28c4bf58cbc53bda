/**
 * COG read and decode throughput, ours against GDAL on the same files in the same command, on a
 * stack of its own: one full-size granule's seven COGs as the synthetic world writes them (512 px
 * tiles), and the same pixels rewritten by GDAL as HLS's files are (COG driver, DEFLATE, PREDICTOR=2,
 * 256 px blocks, overviews). Each side reads the seven files at once, as staging does, from S3:
 *   - ours: openCog + readRaster (ranged GETs, decode threads), in this process;
 *   - GDAL: `gdal_translate -q -of MEM /vsis3/<bucket>/<key> mem` per file, seven processes at once,
 *     GDAL_NUM_THREADS=ALL_CPUS (its multi-threaded block decoding), GDAL_DISABLE_READDIR_ON_OPEN.
 * MB/s counts decoded pixel bytes; each figure is the best of --repeat runs (the machines are noisy).
 *
 *   npx tsx scripts/bench/cog.read.bench.ts [--repeat 3]
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { bandKey, ModelBands } from "../../lib/hls/lpdaac.keys.ts";
import { openCog, readRaster } from "../../lib/raster/cog.reader.ts";
import { LocalS3Credentials } from "../../lib/storage/local.credentials.ts";
import { getBytes, type ObjectRef, putBytes, ref } from "../../lib/storage/s3.objects.ts";
import { s3Source } from "../../lib/storage/s3.source.ts";
import { HlsGdalCogOptions } from "../../test/support/gdal.hls.ts";
import { type BenchFigure, JsonOption, ratioFigure, writeBenchRecord } from "./bench.record.ts";
import { startBenchWorld } from "./bench.world.ts";

const { values } = parseArgs({ options: { repeat: { type: "string", default: "3" }, ...JsonOption } });
const repeat = Number(values.repeat);
const run = promisify(execFile);

const world = await startBenchWorld("19TCG", 1);
const dir = await mkdtemp(join(tmpdir(), "crop-map-cog-bench-"));
try {
  const id = world.ids[0] as NonNullable<(typeof world.ids)[0]>;
  const ours = [...ModelBands[id.product], "Fmask"].map((band) =>
    ref(world.config.storage.hls, bandKey(id, band)),
  );
  // The same pixels as GDAL writes HLS's files.
  const gdalWritten: ObjectRef[] = [];
  for (const [k, object] of ours.entries()) {
    const source = join(dir, `${k}.tif`);
    const target = join(dir, `${k}.gdal.tif`);
    await writeFile(source, await getBytes(world.s3, object));
    await run("gdal_translate", ["-q", ...HlsGdalCogOptions, source, target]);
    const copy = { bucket: object.bucket, key: object.key.replace(/\.tif$/, ".gdal.tif") };
    await putBytes(world.s3, copy, await readFile(target), "image/tiff");
    gdalWritten.push(copy);
  }

  const endpoint = new URL(world.config.s3.endpoint as string);
  const gdalEnv = {
    ...process.env,
    AWS_S3_ENDPOINT: endpoint.host,
    AWS_HTTPS: "NO",
    AWS_VIRTUAL_HOSTING: "FALSE",
    AWS_ACCESS_KEY_ID: LocalS3Credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LocalS3Credentials.secretAccessKey,
    GDAL_DISABLE_READDIR_ON_OPEN: "EMPTY_DIR",
    GDAL_NUM_THREADS: "ALL_CPUS",
  };
  const best = async (read: () => Promise<number>) => {
    let seconds = Number.POSITIVE_INFINITY;
    let bytes = 0;
    for (let i = 0; i < repeat; i++) {
      const started = performance.now();
      bytes = await read();
      seconds = Math.min(seconds, (performance.now() - started) / 1000);
    }
    return { seconds, bytes };
  };
  const readOurs = (files: ObjectRef[]) =>
    best(async () => {
      const rasters = await Promise.all(
        files.map(async (f) => readRaster(await openCog(s3Source(world.s3, f)))),
      );
      return rasters.reduce((n, r) => n + r.data.byteLength, 0);
    });
  const readGdal = (files: ObjectRef[], decoded: number) =>
    best(async () => {
      await Promise.all(
        files.map((f) =>
          run("gdal_translate", ["-q", "-of", "MEM", `/vsis3/${f.bucket}/${f.key}`, "mem"], { env: gdalEnv }),
        ),
      );
      return decoded;
    });

  const { stdout } = await run("gdalinfo", ["--version"]);
  console.log(`COG read + decode, 7 COGs of one 3660 x 3660 granule, all at once, from S3; ${stdout.trim()}`);
  const figures: BenchFigure[] = [];
  for (const [label, files] of [
    ["our files (512 px tiles)", ours],
    ["GDAL-written (256 px blocks)", gdalWritten],
  ] as const) {
    const mine = await readOurs(files);
    const gdal = await readGdal(files, mine.bytes);
    const rate = (r: { seconds: number; bytes: number }) => r.bytes / 1e6 / r.seconds;
    console.log(`  ${label}: ${(mine.bytes / 1e6).toFixed(0)} MB decoded`);
    console.log(
      `    ours                        ${rate(mine).toFixed(1)} MB/s (${mine.seconds.toFixed(2)} s)`,
    );
    console.log(
      `    GDAL gdal_translate -of MEM ${rate(gdal).toFixed(1)} MB/s (${gdal.seconds.toFixed(2)} s)`,
    );
    console.log(`    ratio ours / GDAL           ${(gdal.seconds / mine.seconds).toFixed(2)}`);
    figures.push(
      ratioFigure(
        `COG read + decode, ${label}`,
        rate(mine),
        "MB/s",
        { name: "GDAL gdal_translate -of MEM, same COGs", value: rate(gdal) },
        ">= 1.0",
      ),
    );
  }
  await writeBenchRecord(values.json, {
    bench: "cog.read.bench.ts",
    setup: `7 COGs of one 3660 px granule read at once from S3, best of ${values.repeat}; ${stdout.trim()}`,
    figures,
  });
} finally {
  await rm(dir, { recursive: true, force: true });
  await world.stop();
}
