/**
 * The host's share of a tile's inference, stage by stage: each of the functions the pipeline's
 * threads run per window (read + decode on the decode threads, fill on the main thread, adding
 * logits and argmax + confidence on the emit threads), run here on this thread alone over the very
 * same windows, in CPU ms a window. The model thread's share is bare onnxruntime's, measured by the
 * caller. On a host with a core for each thread, the busiest thread bounds one inference process.
 */

import type { Config } from "../../lib/config/config.schema.ts";
import type { StackHeader } from "../../lib/contracts/stack.header.ts";
import type { ModelManifest } from "../../lib/model/model.manifest.ts";
import { readRow } from "../../lib/pipeline/chunk.decode.ts";
import { decodeThreads } from "../../lib/pipeline/chunk.decoder.ts";
import { addWindows, emitRows } from "../../lib/pipeline/row.emit.mjs";
import { RowAccumulator, windowStarts } from "../../lib/pipeline/sliding.window.ts";
import { chunkRowRange } from "../../lib/pipeline/stack.reader.ts";
import {
  fillWindow,
  giveWindowRow,
  sharedWindowRow,
  validityRows,
  type WindowRows,
} from "../../lib/pipeline/window.input.ts";
import type { ObjectRef } from "../../lib/storage/s3.objects.ts";

export interface HostStages {
  /** CPU ms a window of each stage. */
  decode: number;
  fill: number;
  add: number;
  emit: number;
  /** The model thread's copies: a batch from shared memory into its own buffer, the logits back. */
  copies: number;
  windows: number;
}

/**
 * Runs the stages over a staged stack in the pipeline's batches of `batchSize` windows (never
 * across window rows), with logits that are a no-op model's (the first `classes` input channels of
 * each window, as the bench's no-op graph gives them), one window row at a time.
 */
export async function measureHostStages(
  storage: Pick<Config, "s3">,
  stack: ObjectRef,
  header: StackHeader,
  manifest: ModelManifest,
  batchSize: number,
): Promise<HostStages> {
  const { size, stride } = manifest.chip;
  const { classes } = manifest.output;
  const { width, height } = header.grid;
  const k = header.chunk;
  const windowValues = header.channels * size * size;
  const ys = windowStarts(height, size, stride);
  const xs = windowStarts(width, size, stride);
  const ms = { decode: 0, fill: 0, add: 0, emit: 0, copies: 0 };
  const count = (stage: keyof typeof ms, from: NodeJS.CpuUsage) => {
    const { user, system } = process.cpuUsage(from);
    ms[stage] += (user + system) / 1000;
  };
  const timed = <T>(stage: keyof typeof ms, work: () => T): T => {
    const from = process.cpuUsage();
    const result = work();
    count(stage, from);
    return result;
  };

  const rows: WindowRows = new Map();
  const accumulator = new RowAccumulator(width, classes);
  const batch = new Float32Array(new SharedArrayBuffer(batchSize * windowValues * 4));
  const own = new Float32Array(batchSize * windowValues);
  const logits = new Float32Array(batchSize * classes * size * size);
  let emitted = 0;
  let windows = 0;
  for (const [r, y0] of ys.entries()) {
    for (let cy = Math.floor(y0 / k); cy <= Math.floor((y0 + size - 1) / k); cy++) {
      if (rows.has(cy)) continue;
      const into = sharedWindowRow(header);
      const { channels, chunk } = header;
      const task = { storage, stack, header: { channels, chunk }, ...chunkRowRange(header, cy) };
      const from = process.cpuUsage();
      await readRow({ ...task, normalization: manifest.normalization, into });
      count("decode", from);
      rows.set(cy, into);
    }
    let pending: number[] = [];
    const add = () => {
      // The no-op model's answer: each window's first `classes` planes (copied, not timed).
      pending.forEach((_, i) => {
        const planes = batch.subarray(i * windowValues, i * windowValues + classes * size * size);
        logits.set(planes, i * classes * size * size);
      });
      timed("copies", () => {
        own.set(batch.subarray(0, pending.length * windowValues));
        batch.set(logits.subarray(0, pending.length * classes * size * size));
      });
      const { sums, counts } = accumulator.rowsOf(y0, size);
      timed("add", () => addWindows({ logits, xs: pending, sums, counts, size, classes }));
      windows += pending.length;
      pending = [];
    };
    for (const x0 of xs) {
      const at = pending.length * windowValues;
      if (timed("fill", () => fillWindow(batch, at, rows, header, x0, y0, size)) === 0) continue;
      pending.push(x0);
      if (pending.length === batchSize) add();
    }
    if (pending.length > 0) add();
    const until = ys[r + 1] ?? height;
    const released = Array.from({ length: until - emitted }, (_, i) => accumulator.release(emitted + i));
    const valid = validityRows(rows, header, emitted, until);
    const classIds = manifest.classes.map((c) => c.id);
    timed("emit", () =>
      emitRows({
        sums: released.map((l) => l.sum),
        counts: released.map((l) => l.count),
        valid,
        classes,
        classIds,
      }),
    );
    accumulator.recycle(released);
    emitted = until;
    for (const [cy, row] of rows)
      if (cy < Math.floor(until / k)) {
        giveWindowRow(row);
        rows.delete(cy);
      }
  }
  for (const row of rows.values()) giveWindowRow(row);
  return {
    decode: ms.decode / windows,
    fill: ms.fill / windows,
    add: ms.add / windows,
    emit: ms.emit / windows,
    copies: ms.copies / windows,
    windows,
  };
}

/**
 * Windows a second one inference process could run on a host with a core for each of its threads,
 * given onnxruntime's ms a window (bare onnxruntime's wall time: the model thread waits that long
 * on each window, and copies the batch in and the logits out): the busiest thread bounds it. Adding and argmax share
 * the emit threads (as many as defaultEmitThreads gives such a host: 4), reading and decoding the
 * decode threads (decodeThreads: 2); filling is the main thread's alone.
 */
export function hostCeiling(stages: HostStages, modelMs: number, emitThreads = 4): number {
  const threads = [
    stages.fill,
    (stages.add + stages.emit) / emitThreads,
    stages.decode / decodeThreads(16),
    modelMs + stages.copies,
  ];
  return 1000 / Math.max(...threads);
}

/**
 * This machine's memory bandwidth in GB/s (bytes read plus bytes written a second): the best of a
 * few copies of a 256 MB array, far larger than any cache, on this thread.
 */
export function memoryBandwidth(): number {
  const from = new Float32Array(64 << 20).fill(1);
  const to = new Float32Array(64 << 20);
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    to.set(from);
    best = Math.min(best, performance.now() - t);
  }
  return (2 * from.byteLength) / (best / 1000) / 1e9;
}

/**
 * The fewest bytes the host must move for one window, whatever the code: its share of the stack's
 * int16 values read once (the tile's valid area over the windows run), its model input written
 * once (float32, channels x size x size) and its logits read once (float32, classes x size x size).
 * At the measured bandwidth, this is the floor under the host's CPU a window.
 */
export function floorBytesPerWindow(header: StackHeader, manifest: ModelManifest, windows: number): number {
  const { size } = manifest.chip;
  const stackShare = (header.channels * header.grid.width * header.grid.height * 2) / windows;
  return stackShare + header.channels * size * size * 4 + manifest.output.classes * size * size * 4;
}
