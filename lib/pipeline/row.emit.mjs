/**
 * The per-pixel end of sliding-window inference: summed logits divided by their window count,
 * then argmax and softmax confidence. The emit threads (row.emitter.ts) and the main thread run the
 * very same code.
 *
 * A row of sums is planar, [class][x]: a window adds each class's logits as one contiguous run.
 */

/**
 * Turns a row's sums into means in place (float32, as the sums are stored); pixels covered once
 * keep their value, which is the same.
 * @param {Float32Array} sum [class][x]
 * @param {Uint16Array} count [x]
 * @param {number} classes
 */
export function meanInPlace(sum, count, classes) {
  const width = count.length;
  for (let x = 0; x < width; x++) {
    const n = count[x];
    if (n > 1) for (let at = x; at < classes * width; at += width) sum[at] = sum[at] / n;
  }
}

/**
 * Argmax and softmax confidence of the logits at `at`, `at + step`, ...: the first class with the
 * highest logit, and the top probability as float32 (exp summed in double, in class order).
 * @param {Float32Array} logits
 * @param {number} at
 * @param {number} step
 * @param {number} classes
 * @param {Uint8Array} best out, at [x]
 * @param {Float32Array} confidence out, at [x]
 * @param {number} x
 */
export function pixelArgmax(logits, at, step, classes, best, confidence, x) {
  const end = at + classes * step;
  let top = 0;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = at, c = 0; i < end; i += step, c++) {
    const v = logits[i];
    if (v > max) {
      max = v;
      top = c;
    }
  }
  let z = 0;
  for (let i = at; i < end; i += step) z += Math.exp(logits[i] - max);
  best[x] = top;
  confidence[x] = 1 / z;
}

/**
 * Finished rows to map values: for each pixel some window covered and `valid` marks (data in every
 * date), the class id and the confidence in percent; other pixels get 0 and 255 (no data). Only
 * those pixels pay for the softmax.
 * @param {{ sums: Float32Array[], counts: Uint16Array[], valid: Uint8Array, classes: number, classIds: readonly number[] }} rows
 * @returns {{ classes: Uint8Array, confidence: Uint8Array }}
 */
export function emitRows({ sums, counts, valid, classes, classIds }) {
  const width = valid.length / sums.length;
  const outClasses = new Uint8Array(valid.length);
  const outConfidence = new Uint8Array(valid.length).fill(255);
  const best = new Uint8Array(1);
  const confidence = new Float32Array(1);
  const ids = Uint8Array.from(classIds);
  for (let r = 0; r < sums.length; r++) {
    const sum = /** @type {Float32Array} */ (sums[r]);
    const count = /** @type {Uint16Array} */ (counts[r]);
    meanInPlace(sum, count, classes);
    for (let x = 0, p = r * width; x < width; x++, p++) {
      if (count[x] === 0 || valid[p] === 0) continue;
      pixelArgmax(sum, x, width, classes, best, confidence, 0);
      outClasses[p] = /** @type {number} */ (ids[/** @type {number} */ (best[0])]);
      outConfidence[p] = Math.round(/** @type {number} */ (confidence[0]) * 100);
    }
  }
  return { classes: outClasses, confidence: outConfidence };
}
