/**
 * Synthetic-world generation throughput: MB of COG written per second for full-size (3660 px)
 * granules, by stage, against bare zlib on the same raw bands in the same process (the ratio is
 * what to compare across machines; these machines are noisy). Starts its own stack on free ports.
 *
 *   npx tsx scripts/bench/synth.bench.ts [--granules 6] [--json <file>]
 */
import { parseArgs, promisify } from "node:util";
import { deflate } from "node:zlib";
import { encodeGranule } from "../synth/granule.encode.ts";
import { createGround } from "../synth/ground.ts";
import { profileForState } from "../synth/profiles.ts";
import { granuleIdFor } from "../synth/schedule.ts";
import { prepareTileGround, renderGranule } from "../synth/tile.render.ts";
import { uploadGranule } from "../synth/world.writer.ts";
import { JsonOption, ratioFigure, writeBenchRecord } from "./bench.record.ts";
import { startBenchStack } from "./bench.stack.ts";
import { benchTile } from "./bench.world.ts";

const { values } = parseArgs({ options: { granules: { type: "string", default: "6" }, ...JsonOption } });
const count = Number(values.granules);

const { config, s3, stop } = await startBenchStack();
try {
  const planned = benchTile("19TCG", { start: "06-01", end: "10-31" });
  const clear = planned.acquisitions.filter((a) => !a.swath).slice(0, count);
  const seconds = (from: number) => (performance.now() - from) / 1000;

  let t = performance.now();
  const prepared = prepareTileGround(planned.window, createGround(profileForState("RI"), 1));
  const prepareSeconds = seconds(t);

  let renderSeconds = 0;
  let encodeSeconds = 0;
  let uploadSeconds = 0;
  let rawBytes = 0;
  let cogBytes = 0;
  const rawBands: Buffer[] = [];
  for (const acquisition of clear) {
    t = performance.now();
    const rendered = renderGranule(prepared, acquisition);
    renderSeconds += seconds(t);
    const id = granuleIdFor(planned.tile, 2022, acquisition, planned.centreLon);
    t = performance.now();
    const cogs = await encodeGranule(id, planned.window, rendered);
    encodeSeconds += seconds(t);
    t = performance.now();
    await uploadGranule({ s3, config }, id, planned.window, rendered, cogs);
    uploadSeconds += seconds(t);
    for (const band of rendered.bands) rawBands.push(Buffer.from(band.buffer));
    rawBytes += rendered.bands.reduce((n, b) => n + b.byteLength, rendered.fmask.byteLength);
    cogBytes += cogs.reduce((n, c) => n + c.bytes.length, 0);
  }
  const pipelineSeconds = renderSeconds + encodeSeconds + uploadSeconds;

  // Reference: bare zlib (level 1) over the same raw bands, as parallel as the encoder runs it.
  t = performance.now();
  await Promise.all(rawBands.map((b) => promisify(deflate)(b, { level: 1 })));
  const zlibSeconds = seconds(t);
  const rawBandBytes = rawBands.reduce((n, b) => n + b.length, 0);

  const mb = (bytes: number) => bytes / 1e6;
  console.log(
    `synthetic world generation, ${clear.length} full granules of ${planned.tile.tileId} (3660 x 3660), 7 COGs each`,
  );
  console.log(`  prepare ground (once a tile)   ${prepareSeconds.toFixed(2)} s`);
  console.log(`  render                         ${(renderSeconds / clear.length).toFixed(2)} s/granule`);
  console.log(`  encode COGs                    ${(encodeSeconds / clear.length).toFixed(2)} s/granule`);
  console.log(`  upload                         ${(uploadSeconds / clear.length).toFixed(2)} s/granule`);
  console.log(
    `  written                        ${mb(cogBytes).toFixed(1)} MB of COG from ${mb(rawBytes).toFixed(1)} MB raw`,
  );
  console.log(
    `  throughput                     ${(mb(cogBytes) / pipelineSeconds).toFixed(1)} MB of COG/s (${(mb(rawBytes) / pipelineSeconds).toFixed(1)} MB raw/s)`,
  );
  console.log(`  reference: bare zlib level 1   ${(mb(rawBandBytes) / zlibSeconds).toFixed(1)} MB raw/s`);
  console.log(
    `  ratio pipeline / bare zlib     ${(mb(rawBytes) / pipelineSeconds / (mb(rawBandBytes) / zlibSeconds)).toFixed(2)}`,
  );
  await writeBenchRecord(values.json, {
    bench: "synth.bench.ts",
    setup: `${clear.length} full granules of ${planned.tile.tileId} (3660 px, 7 COGs each), render + encode + upload`,
    figures: [
      ratioFigure("synthetic granules written", mb(rawBytes) / pipelineSeconds, "MB raw/s", {
        name: "bare zlib level 1, same bands",
        value: mb(rawBandBytes) / zlibSeconds,
      }),
    ],
  });
} finally {
  await stop();
}
