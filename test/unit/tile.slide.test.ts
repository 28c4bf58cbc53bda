import { describe, expect, it } from "vitest";
import {
  decodeCheckpoint,
  emptyCheckpoint,
  encodeCheckpoint,
  type PredictCheckpoint,
} from "../../activities/predict.checkpoint.ts";
import { type StackHeader, StackNodata } from "../../lib/contracts/stack.header.ts";
import type { Tiling } from "../../lib/contracts/tiling.contract.ts";
import { axisWeights } from "../../lib/pipeline/blended.window.ts";
import { RowEmitter } from "../../lib/pipeline/row.emitter.ts";
import { RowAccumulator, windowStarts } from "../../lib/pipeline/sliding.window.ts";
import { slideTile } from "../../lib/pipeline/tile.slide.ts";
import { type ChunkRow, withValidity } from "../../lib/pipeline/window.input.ts";
import { seededRandom } from "../../lib/random.ts";

// Small enough to recompute directly: windows of 32 px every 16 over a 150 x 110 grid.
const size = 32;
const stride = 16;
const width = 150;
const height = 110;
const channels = 18;
const classes = 13;
const classIds = Array.from({ length: classes }, (_, i) => i + 1);
const normalization = {
  mean: [494.905781, 815.239594, 924.335066, 2968.881459, 2634.621962, 1739.579917],
  std: [284.925432, 357.84876, 575.566823, 896.601013, 951.900334, 921.407808],
};

function makePlanes(): Int16Array[] {
  const random = seededRandom(7);
  return Array.from({ length: channels }, () =>
    Int16Array.from({ length: width * height }, (_, p) => {
      const x = p % width;
      const y = Math.floor(p / width);
      // A block without data (windows there are skipped) and scattered gaps in single dates.
      if (x >= 100 && y < 40) return StackNodata;
      if (random() < 0.01) return StackNodata;
      // Some negative reflectance (water, shadow), which the model is fed clipped to 0.
      return Math.floor(random() * 6300) - 300;
    }),
  );
}

const header: StackHeader = {
  grid: { epsg: 32619, origin: [0, 0], pixelSize: 30, width, height },
  channels,
  chunk: stride,
  chunksAcross: Math.ceil(width / stride),
  chunksDown: Math.ceil(height / stride),
  chunks: [],
  validPixels: 0,
};

function chunkRow(planes: Int16Array[], cy: number): ChunkRow {
  const k = header.chunk;
  const data = Array.from({ length: header.chunksAcross }, (_, cx) => {
    const block = new Int16Array(channels * k * k).fill(StackNodata);
    for (let c = 0; c < channels; c++)
      for (let y = 0; y < k && cy * k + y < height; y++)
        for (let x = 0; x < k && cx * k + x < width; x++)
          block[c * k * k + y * k + x] = planes[c]?.[(cy * k + y) * width + cx * k + x] as number;
    return block;
  });
  return withValidity(header, data);
}

/**
 * A stand-in model: per pixel, a fixed mix of input channels per class, and a term that grows
 * towards the window's right edge (a real model's logits also depend on where in the window a
 * pixel falls), so that tilings differ.
 */
function model(input: Float32Array, windows: number): Float32Array {
  const plane = size * size;
  const out = new Float32Array(windows * classes * plane);
  for (let w = 0; w < windows; w++)
    for (let c = 0; c < classes; c++)
      for (let p = 0; p < plane; p++) {
        const a = input[(w * channels + c) * plane + p] as number;
        const b = input[(w * channels + ((c + 5) % channels)) * plane + p] as number;
        out[(w * classes + c) * plane + p] = a * (0.3 + c * 0.07) - b * 0.11 + c * 0.01 * (1 + (p % size));
      }
  return out;
}

const mmseg: Tiling = { kind: "mmseg", size, stride };
// TerraTorch's proportions at a 32 px window: stride 27, border 1 (resolveTiling's defaults).
const blended: Tiling = { kind: "blended", size, stride: 27, border: 1 };

/**
 * The maps as the tiling defines them, computed directly over the whole grid, one window at a
 * time: logits summed (times the window's weight, blended) and divided by the count (or the weights).
 */
function direct(planes: Int16Array[], tiling: Tiling = mmseg) {
  const sum = new Float32Array(width * height * classes);
  const count = tiling.kind === "mmseg" ? new Uint16Array(width * height) : new Float32Array(width * height);
  const plane = size * size;
  const xs = windowStarts(width, size, tiling.stride);
  const ys = windowStarts(height, size, tiling.stride);
  const border = tiling.kind === "blended" ? tiling.border : 0;
  const [cols, rows] = [axisWeights(xs, size, border), axisWeights(ys, size, border)];
  const weight = (x0: number, y0: number, dx: number, dy: number) =>
    tiling.kind === "mmseg"
      ? 1
      : ((rows.get(y0) as Float32Array)[dy] as number) * ((cols.get(x0) as Float32Array)[dx] as number);
  for (const y0 of ys)
    for (const x0 of xs) {
      const input = new Float32Array(channels * plane);
      let valid = 0;
      for (let dy = 0; dy < size; dy++)
        for (let dx = 0; dx < size; dx++) {
          const p = (y0 + dy) * width + x0 + dx;
          if (planes.every((pl) => pl[p] !== StackNodata)) valid++;
          for (let c = 0; c < channels; c++) {
            const v = planes[c]?.[p] as number;
            const scale = 1 / (normalization.std[c % 6] as number);
            input[c * plane + dy * size + dx] =
              v === StackNodata ? 0 : (Math.max(v, 0) - (normalization.mean[c % 6] as number)) * scale;
          }
        }
      if (valid === 0) continue;
      const logits = model(input, 1);
      for (let dy = 0; dy < size; dy++)
        for (let dx = 0; dx < size; dx++) {
          const w = weight(x0, y0, dx, dy);
          if (w === 0) continue;
          const p = (y0 + dy) * width + x0 + dx;
          count[p] = (count[p] as number) + w;
          for (let c = 0; c < classes; c++)
            sum[p * classes + c] =
              (sum[p * classes + c] as number) + (logits[c * plane + dy * size + dx] as number) * w;
        }
    }
  const outClasses = new Uint8Array(width * height);
  const outConfidence = new Uint8Array(width * height).fill(255);
  for (let p = 0; p < width * height; p++) {
    const n = count[p] as number;
    if (n === 0 || planes.some((pl) => pl[p] === StackNodata)) continue;
    const mean = Array.from({ length: classes }, (_, c) => Math.fround((sum[p * classes + c] as number) / n));
    const max = Math.max(...mean);
    const top = mean.indexOf(max);
    const z = mean.reduce((s, v) => s + Math.exp(v - max), 0);
    outClasses[p] = classIds[top] as number;
    outConfidence[p] = Math.round(Math.fround(1 / z) * 100);
  }
  return { classes: outClasses, confidence: outConfidence };
}

async function slide(
  planes: Int16Array[],
  options: {
    batchSize: number;
    emitter: RowEmitter;
    state?: PredictCheckpoint;
    stopAfterRow?: number;
    tiling?: Tiling;
  },
) {
  const tiling = options.tiling ?? mmseg;
  const state = options.state ?? emptyCheckpoint(width, height);
  const accumulator = new RowAccumulator(width, classes, tiling.kind === "blended");
  accumulator.restore(state.held);
  let saved: Buffer | undefined;
  await slideTile({
    header,
    tiling,
    classes,
    classIds,
    normalization,
    batchSize: options.batchSize,
    state,
    accumulator,
    emitter: options.emitter,
    readChunkRow: async (cy) => chunkRow(planes, cy),
    // As the model thread: answers later, and hands the lent input buffer back.
    runBatch: (input, windows) =>
      new Promise((resolve) =>
        setImmediate(() => resolve({ logits: model(input, windows), buffer: input.buffer as ArrayBuffer })),
      ),
    beforeBatch: () => {},
    rowDone: async (settled) => {
      if (state.row === options.stopAfterRow) {
        await settled();
        state.held = accumulator.snapshot();
        saved = encodeCheckpoint(state);
        throw new Error("stopped");
      }
    },
  }).catch((error: Error) => {
    if (error.message !== "stopped") throw error;
  });
  return { state, saved };
}

describe("slideTile", () => {
  const planes = makePlanes();
  const expected = direct(planes);
  const windows = windowStarts(width, size, stride).length * windowStarts(height, size, stride).length;

  it("gives the maps of the direct computation, batched and overlapped, with argmax inline or on threads", async () => {
    const threaded = RowEmitter.start(1);
    // Three threads add three bands of each batch's rows side by side.
    const banded = RowEmitter.start(3);
    for (const [batchSize, emitter] of [
      [1, RowEmitter.start(0)],
      [3, threaded],
      [8, threaded],
      [3, banded],
      [8, banded],
    ] as const) {
      const { state } = await slide(planes, { batchSize, emitter });
      expect(Buffer.from(state.classes).equals(Buffer.from(expected.classes))).toBe(true);
      expect(Buffer.from(state.confidence).equals(Buffer.from(expected.confidence))).toBe(true);
      expect(state.run + state.skipped).toBe(windows);
      expect(state.skipped).toBeGreaterThan(0);
    }
    // Sanity of the fixture: several classes and confidences occur, and the no-data block stays empty.
    expect(new Set(expected.classes).size).toBeGreaterThan(3);
    expect(new Set(expected.confidence).size).toBeGreaterThan(10);
    expect(expected.classes[10 * width + 120]).toBe(0);
  });

  it("resumes from a checkpoint taken mid-tile to the same maps and counts", async () => {
    const emitter = RowEmitter.start(1);
    const { saved } = await slide(planes, { batchSize: 3, emitter, stopAfterRow: 3 });
    expect(saved).toBeDefined();
    const restored = decodeCheckpoint(saved as Buffer, width, height);
    expect(restored.row).toBe(3);
    expect(restored.held.length).toBeGreaterThan(0);
    const { state } = await slide(planes, { batchSize: 3, emitter, state: restored });
    expect(Buffer.from(state.classes).equals(Buffer.from(expected.classes))).toBe(true);
    expect(Buffer.from(state.confidence).equals(Buffer.from(expected.confidence))).toBe(true);
    expect(state.run + state.skipped).toBe(windows);
  });

  it("blends TerraTorch's way to the maps of the direct computation, also resumed mid-tile", async () => {
    const wanted = direct(planes, blended);
    const emitter = RowEmitter.start(3);
    const { state } = await slide(planes, { batchSize: 3, emitter, tiling: blended });
    expect(Buffer.from(state.classes).equals(Buffer.from(wanted.classes))).toBe(true);
    expect(Buffer.from(state.confidence).equals(Buffer.from(wanted.confidence))).toBe(true);
    // Fewer windows than the slide's, and not the slide's maps.
    const blendedWindows = windowStarts(width, size, 27).length * windowStarts(height, size, 27).length;
    expect(state.run + state.skipped).toBe(blendedWindows);
    expect(blendedWindows).toBeLessThan(windows);
    expect(Buffer.from(state.confidence).equals(Buffer.from(expected.confidence))).toBe(false);

    const { saved } = await slide(planes, { batchSize: 2, emitter, stopAfterRow: 2, tiling: blended });
    const restored = decodeCheckpoint(saved as Buffer, width, height);
    expect(restored.held[0]?.count).toBeInstanceOf(Float32Array);
    const resumed = await slide(planes, { batchSize: 2, emitter, state: restored, tiling: blended });
    expect(Buffer.from(resumed.state.confidence).equals(Buffer.from(wanted.confidence))).toBe(true);
  });
});
