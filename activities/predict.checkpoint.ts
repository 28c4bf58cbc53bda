import type { S3Client } from "@aws-sdk/client-s3";
import { log } from "@temporalio/activity";
import type { z } from "zod";
import type { HeldRow } from "../lib/pipeline/sliding.window.ts";
import type { SlideState } from "../lib/pipeline/tile.slide.ts";
import { getBytes, getJson, type ObjectRef, objectSize } from "../lib/storage/s3.objects.ts";

/**
 * A tile's finished prediction (its summary, written last) for either model family, if the same
 * model file made it: a re-exported model under the same name maps the tile again.
 */
export async function finishedPrediction<T extends { model: { sha256: string } }>(
  s3: S3Client,
  summary: ObjectRef,
  parser: z.ZodType<T>,
  tileId: string,
  wanted: { name: string; sha256: string },
): Promise<T | undefined> {
  const done = await getJson(s3, summary);
  if (done === undefined) return undefined;
  const found = parser.parse(done);
  if (found.model.sha256 === wanted.sha256) return found;
  log.info(
    `Tile:Predict:Stale tile=${tileId} model=${wanted.name} was=${found.model.sha256.slice(0, 12)} now=${wanted.sha256.slice(0, 12)}`,
  );
  return undefined;
}

/** What a tile's inference has done so far; enough to continue from the next window row. */
export interface PredictCheckpoint extends SlideState {
  /** Logit rows some later window still adds to. */
  held: HeldRow[];
}

/** Nothing done yet: no row run, every pixel no data. */
export function emptyCheckpoint(width: number, height: number): PredictCheckpoint {
  return {
    row: 0,
    emitted: 0,
    run: 0,
    skipped: 0,
    classes: new Uint8Array(width * height),
    confidence: new Uint8Array(width * height).fill(255),
    held: [],
  };
}

/**
 * Layout: 4-byte JSON length, JSON {row, emitted, run, skipped, classes, held: [y...], weighted},
 * then the arrays; `weighted` (blended tiling) when the counts are float32 summed weights.
 */
export function encodeCheckpoint(state: PredictCheckpoint): Buffer {
  const width = state.held[0]?.count.length ?? 0;
  const classes = width ? (state.held[0]?.sum.length ?? 0) / width : 0;
  const json = Buffer.from(
    JSON.stringify({
      row: state.row,
      emitted: state.emitted,
      run: state.run,
      skipped: state.skipped,
      classes,
      held: state.held.map((h) => h.y),
      ...(state.held[0]?.count instanceof Float32Array ? { weighted: true } : {}),
    }),
  );
  const head = Buffer.alloc(4);
  head.writeUInt32LE(json.length);
  const parts: Buffer[] = [head, json, Buffer.from(state.classes), Buffer.from(state.confidence)];
  for (const h of state.held)
    parts.push(
      Buffer.from(h.sum.buffer, h.sum.byteOffset, h.sum.byteLength),
      Buffer.from(h.count.buffer, h.count.byteOffset, h.count.byteLength),
    );
  return Buffer.concat(parts);
}

export function decodeCheckpoint(bytes: Uint8Array, width: number, height: number): PredictCheckpoint {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = buf.readUInt32LE(0);
  const meta = JSON.parse(buf.toString("utf8", 4, 4 + length)) as {
    row: number;
    emitted: number;
    run: number;
    skipped: number;
    classes: number;
    held: number[];
    weighted?: boolean;
  };
  let at = 4 + length;
  const take = (n: number) => {
    const out = new Uint8Array(n);
    out.set(buf.subarray(at, at + n));
    at += n;
    return out;
  };
  const classes = take(width * height);
  const confidence = take(width * height);
  const held = meta.held.map((y) => {
    const sum = new Float32Array(take(width * meta.classes * 4).buffer);
    const count = meta.weighted
      ? new Float32Array(take(width * 4).buffer)
      : new Uint16Array(take(width * 2).buffer);
    return { y, sum, count };
  });
  return {
    row: meta.row,
    emitted: meta.emitted,
    run: meta.run,
    skipped: meta.skipped,
    classes,
    confidence,
    held,
  };
}

/** The state a tile's inference starts from: its checkpoint where one was written, else nothing done. */
export async function startingState(
  s3: S3Client,
  checkpoint: ObjectRef,
  width: number,
  height: number,
): Promise<{ state: PredictCheckpoint; resumed: boolean }> {
  if ((await objectSize(s3, checkpoint)) !== undefined)
    return { state: decodeCheckpoint(await getBytes(s3, checkpoint), width, height), resumed: true };
  return { state: emptyCheckpoint(width, height), resumed: false };
}
