/**
 * Host-side speed of sliding-window inference: `predictTile` (read the staged stack, fill and
 * normalise windows, run, accumulate logits, argmax, confidence, write the maps) in windows per
 * second, against bare onnxruntime's `session.run` on the very same batches in this process, for
 * the bundled `crop-tiny` and for a no-op model with the same inputs and outputs (it hands back 13
 * of its 18 input channels, written at start with models/build/onnx.writer.ts): with the no-op model
 * the figure is the host's own ceiling, what an inference process could feed a GPU. Starts its own
 * stack on free ports and stages a synthetic field-like stack of `--px` pixels square.
 *
 *   npx tsx scripts/bench/inference.bench.ts [--px 2240] [--json <file>]
 */

import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { MockActivityEnvironment } from "@temporalio/testing";
import * as ort from "onnxruntime-node";
import { createPredictActivities } from "../../activities/predict.activities.ts";
import type { PredictedTile } from "../../lib/contracts/predict.contract.ts";
import { StackNodata } from "../../lib/contracts/stack.header.ts";
import {
  loadModelManifest,
  type ModelManifest,
  ModelsDir,
  onnxLocation,
} from "../../lib/model/model.manifest.ts";
import { loadModel } from "../../lib/model/model.session.ts";
import { windowStarts } from "../../lib/pipeline/sliding.window.ts";
import { readChunks, readStackHeader } from "../../lib/pipeline/stack.reader.ts";
import { encodeStack } from "../../lib/pipeline/stack.writer.ts";
import { fillWindow, type WindowRows, windowRow } from "../../lib/pipeline/window.input.ts";
import { seededRandom } from "../../lib/random.ts";
import { putBytes, ref } from "../../lib/storage/s3.objects.ts";
import { encodeOnnx } from "../../models/build/onnx.writer.ts";
import { type BenchFigure, JsonOption, ratioFigure, writeBenchRecord } from "./bench.record.ts";
import { withPrivateStack } from "./bench.stack.ts";
import { floorBytesPerWindow, hostCeiling, measureHostStages, memoryBandwidth } from "./inference.stages.ts";

const { values } = parseArgs({ options: { px: { type: "string", default: "2240" }, ...JsonOption } });
const px = Number(values.px);

const cpuMsSince = (from: NodeJS.CpuUsage) => {
  const { user, system } = process.cpuUsage(from);
  return (user + system) / 1000;
};

/** 24 px fields of 18 int16 bands with a little noise, a few cloud holes (no data in one date). */
function syntheticPlanes(): { planes: Int16Array[]; valid: number } {
  const random = seededRandom(11);
  const cells = Math.ceil(px / 24);
  const base = Array.from({ length: 18 }, () =>
    Float32Array.from({ length: cells * cells }, () => 300 + random() * 3500),
  );
  const holes = Uint8Array.from({ length: cells * cells }, () =>
    random() < 0.02 ? 1 + Math.floor(random() * 3) : 0,
  );
  const planes = base.map(() => new Int16Array(px * px));
  let valid = 0;
  for (let y = 0; y < px; y++)
    for (let x = 0; x < px; x++) {
      const cell = Math.floor(y / 24) * cells + Math.floor(x / 24);
      const hole = holes[cell] as number;
      if (hole === 0) valid++;
      for (let c = 0; c < 18; c++)
        (planes[c] as Int16Array)[y * px + x] =
          hole !== 0 && Math.floor(c / 6) === hole - 1
            ? StackNodata
            : Math.round(((base[c] as Float32Array)[cell] as number) + (random() - 0.5) * 80);
    }
  return { planes, valid };
}

/** A graph with crop-tiny's inputs and outputs that does next to nothing: 13 of the 18 channels, split off. */
function noOpOnnx(size: number): Buffer {
  return encodeOnnx({
    producer: "crop-map scripts/bench/inference.bench.ts",
    doc: "No-op: the first 13 input channels as logits.",
    opset: 11,
    nodes: [
      {
        op: "Split",
        inputs: ["hls"],
        outputs: ["logits", "rest"],
        attributes: [
          { name: "axis", int: 1 },
          { name: "split", ints: [13, 5] },
        ],
      },
    ],
    initializers: [],
    inputs: [{ name: "hls", shape: ["batch", 18, size, size] }],
    outputs: [{ name: "logits", shape: ["batch", 13, size, size] }],
  });
}

const figures: BenchFigure[] = [];
const config = await withPrivateStack(async (config, s3, dir) => {
  // A models folder with crop-tiny and the no-op model beside it.
  const modelsDir = join(dir, "models");
  await mkdir(modelsDir);
  for (const file of ["crop-tiny.json", "crop-tiny.onnx"])
    await copyFile(join(ModelsDir, file), join(modelsDir, file));
  const tiny = await loadModelManifest("crop-tiny");
  const noOp = noOpOnnx(tiny.chip.size);
  await writeFile(join(modelsDir, "no-op.onnx"), noOp);
  await writeFile(
    join(modelsDir, "no-op.json"),
    JSON.stringify({
      ...JSON.parse(await readFile(join(ModelsDir, "crop-tiny.json"), "utf8")),
      name: "no-op",
      description: "bench only: the first 13 input channels as logits",
      onnx: "no-op.onnx",
      sha256: createHash("sha256").update(noOp).digest("hex"),
    }),
  );

  const { planes, valid } = syntheticPlanes();
  const grid = {
    epsg: 32619,
    origin: [300000, 4700000] as [number, number],
    pixelSize: 30,
    width: px,
    height: px,
  };
  const stackKey = "bench/inference.stack";
  await putBytes(
    s3,
    ref(config.storage.work, stackKey),
    await encodeStack(planes, grid, tiny.chip.stride, valid),
    "application/octet-stream",
  );
  const header = await readStackHeader(s3, ref(config.storage.work, stackKey));
  const predict = createPredictActivities(s3, config, { modelsDir });
  const env = new MockActivityEnvironment();

  const bareRate = async (manifest: ModelManifest, batchSize: number) => {
    const session = await ort.InferenceSession.create(await readFile(onnxLocation(manifest, modelsDir)));
    const { size, stride } = manifest.chip;
    const windowValues = header.channels * size * size;
    const rows: WindowRows = new Map();
    let seconds = 0;
    let cpuMs = 0;
    let windows = 0;
    for (const y0 of windowStarts(px, size, stride)) {
      for (let cy = Math.floor(y0 / header.chunk); cy <= Math.floor((y0 + size - 1) / header.chunk); cy++)
        if (!rows.has(cy))
          rows.set(
            cy,
            windowRow(
              header,
              await readChunks(s3, ref(config.storage.work, stackKey), header, cy),
              manifest.normalization,
            ),
          );
      const batch = new Float32Array(batchSize * windowValues);
      let n = 0;
      const run = async () => {
        if (n === 0) return;
        const tensor = new ort.Tensor("float32", batch.subarray(0, n * windowValues), [
          n,
          header.channels,
          size,
          size,
        ]);
        const t = performance.now();
        const cpu = process.cpuUsage();
        await session.run({ [manifest.input.name]: tensor });
        seconds += (performance.now() - t) / 1000;
        cpuMs += cpuMsSince(cpu);
        windows += n;
        n = 0;
      };
      // The pipeline's batches: windows with a valid pixel, never across window rows.
      for (const x0 of windowStarts(px, size, stride)) {
        if (fillWindow(batch, n * windowValues, rows, header, x0, y0, size) === 0) continue;
        if (++n === batchSize) await run();
      }
      await run();
    }
    await session.release();
    return { rate: windows / seconds, cpuMsPerWindow: cpuMs / windows, windows };
  };

  const bandwidth = memoryBandwidth();
  for (const name of ["crop-tiny", "no-op"]) {
    const manifest = await loadModelManifest(name, modelsDir);
    // The session is opened once per worker process: not part of a tile's time.
    await loadModel(manifest, s3, { ...config.inference, modelsDir }, () => {});
    const t = performance.now();
    const cpu = process.cpuUsage();
    const predicted = (await env.run(predict.predictTile, {
      tileId: "19TCG",
      stackKey,
      model: name,
      outputPrefix: `bench/${name}/`,
    })) as PredictedTile;
    const seconds = (performance.now() - t) / 1000;
    const cpuMsPerWindow = cpuMsSince(cpu) / predicted.windows.run;
    const bare = await bareRate(manifest, predicted.batchSize);
    if (bare.windows !== predicted.windows.run)
      throw new Error(`bare run saw ${bare.windows} windows, the pipeline ${predicted.windows.run}`);
    const rate = predicted.windows.run / seconds;
    figures.push(
      ratioFigure(
        `predictTile, ${name}`,
        rate,
        "windows/s",
        { name: `bare onnxruntime, same batches`, value: bare.rate },
        name === "no-op" ? ">= 400 windows/s" : ">= 0.8",
      ),
      // CPU time (every thread of the process) is steadier than wall time on a shared machine.
      {
        name: `predictTile CPU per window, ${name}`,
        value: cpuMsPerWindow,
        unit: "ms",
        reference: { name: "bare onnxruntime, same batches", value: bare.cpuMsPerWindow, unit: "ms" },
        ratio: bare.cpuMsPerWindow / cpuMsPerWindow,
      },
    );
    // The host's own cost: the process's CPU a window less what onnxruntime spends on the same
    // batches, against the floor the memory it must move sets.
    const outside = cpuMsPerWindow - bare.cpuMsPerWindow;
    const floorMs = (floorBytesPerWindow(header, manifest, bare.windows) / (bandwidth * 1e9)) * 1000;
    figures.push({
      name: `host CPU outside onnxruntime per window, ${name}`,
      value: outside,
      unit: "ms",
      reference: {
        name: `floor: bytes a window moves at ${bandwidth.toFixed(1)} GB/s`,
        value: floorMs,
        unit: "ms",
      },
      ratio: outside / floorMs,
      target: "<= 6 ms",
    });
    console.log(
      `${name}: host CPU outside onnxruntime ${outside.toFixed(1)} ms a window; floor ${floorMs.toFixed(2)} ms (${(floorBytesPerWindow(header, manifest, bare.windows) / 1e6).toFixed(1)} MB a window at ${bandwidth.toFixed(1)} GB/s)`,
    );
    console.log(
      `${name}: predictTile ${rate.toFixed(1)} windows/s (${predicted.windows.run} windows, batch ${predicted.batchSize}, ${seconds.toFixed(1)} s); bare onnxruntime ${bare.rate.toFixed(1)} windows/s; ratio ${(rate / bare.rate).toFixed(2)}; CPU ms per window ${cpuMsPerWindow.toFixed(1)} against ${bare.cpuMsPerWindow.toFixed(1)}`,
    );
    if (name !== "no-op") continue;
    // Where the host's time goes: each thread's stage alone, and what that bounds on a larger host.
    const stackRef = ref(config.storage.work, stackKey);
    const stages = await measureHostStages(config, stackRef, header, manifest, predicted.batchSize);
    if (stages.windows !== predicted.windows.run)
      throw new Error(`stage run saw ${stages.windows} windows, the pipeline ${predicted.windows.run}`);
    const threadOf = {
      decode: "decode threads",
      fill: "main thread",
      add: "emit threads",
      emit: "emit threads",
      copies: "model thread",
    };
    for (const stage of ["decode", "fill", "add", "emit", "copies"] as const)
      figures.push({
        name: `host CPU per window alone: ${stage} (${threadOf[stage]})`,
        value: stages[stage],
        unit: "ms",
      });
    const alone =
      stages.decode + stages.fill + stages.add + stages.emit + stages.copies + bare.cpuMsPerWindow;
    figures.push(
      {
        name: "host stages alone + bare onnxruntime, no-op",
        value: alone,
        unit: "ms",
        reference: { name: "predictTile CPU per window, no-op", value: cpuMsPerWindow, unit: "ms" },
        ratio: alone / cpuMsPerWindow,
      },
      ratioFigure(
        "ceiling with a core per thread, no-op",
        hostCeiling(stages, 1000 / bare.rate),
        "windows/s",
        { name: "predictTile, no-op, this machine", value: rate },
        ">= 400 windows/s",
      ),
    );
    console.log(
      `host stages alone, CPU ms per window: decode ${stages.decode.toFixed(2)}, fill ${stages.fill.toFixed(2)}, add ${stages.add.toFixed(2)}, emit ${stages.emit.toFixed(2)}, copies ${stages.copies.toFixed(2)}; with bare onnxruntime ${alone.toFixed(1)} against the pipeline's ${cpuMsPerWindow.toFixed(1)}; ceiling with a core per thread ${hostCeiling(stages, 1000 / bare.rate).toFixed(0)} windows/s`,
    );
  }
  return config;
});
await writeBenchRecord(values.json, {
  bench: "inference.bench.ts",
  setup: `synthetic ${px} px stack, ${config.inference.device}, emit threads ${config.inference.emitThreads ?? "default"}`,
  figures,
});
