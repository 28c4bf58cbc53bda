/**
 * The per-pixel work of sliding-window inference: window logits added into rows, summed logits
 * divided by their window count, then argmax and softmax confidence. The emit threads
 * (row.emitter.ts) and the main thread run the very same code.
 *
 * A row of sums is planar, [class][x]: a window adds each class's logits as one contiguous run.
 */

/**
 * Adds one window's logits ([class][y][x], size x size, at column x0) into the rows it covers:
 * `sums[dy]` ([class][x]) and `counts[dy]` for each of its rows.
 * @param {Float32Array[]} sums
 * @param {Uint16Array[]} counts
 * @param {Float32Array} logits
 * @param {number} x0
 * @param {number} size
 * @param {number} classes
 */
export function addWindow(sums, counts, logits, x0, size, classes) {
  const plane = size * size;
  for (let dy = 0; dy < size; dy++) {
    const sum = /** @type {Float32Array} */ (sums[dy]);
    const count = /** @type {Uint16Array} */ (counts[dy]);
    const width = count.length;
    for (let x = x0; x < x0 + size; x++) count[x] = /** @type {number} */ (count[x]) + 1;
    for (let c = 0; c < classes; c++) {
      const from = c * plane + dy * size - x0;
      for (let x = x0, at = c * width + x0; x < x0 + size; x++, at++)
        sum[at] = /** @type {number} */ (sum[at]) + /** @type {number} */ (logits[from + x]);
    }
  }
}

/**
 * A batch's windows added in batch order (the order that makes the sums what they are), each
 * `perWindow` logits after the last, at columns `xs`, into the rows of their window row.
 * @param {{ logits: Float32Array, xs: number[], sums: Float32Array[], counts: Uint16Array[], size: number, classes: number }} batch
 */
export function addWindows({ logits, xs, sums, counts, size, classes }) {
  const perWindow = classes * size * size;
  xs.forEach((x0, i) => {
    addWindow(sums, counts, logits.subarray(i * perWindow, (i + 1) * perWindow), x0, size, classes);
  });
}

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
 * The first class with the highest logit among the logits at `at`, `at + step`, ...
 * @param {Float32Array} logits
 * @param {number} at
 * @param {number} step
 * @param {number} classes
 */
function topClass(logits, at, step, classes) {
  let top = 0;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = at, c = 0; c < classes; i += step, c++) {
    const v = logits[i];
    if (v > max) {
      max = v;
      top = c;
    }
  }
  return top;
}

/**
 * The softmax's denominator, exp(logit - max) summed in double, in class order.
 * @param {Float32Array} logits
 * @param {number} at
 * @param {number} step
 * @param {number} classes
 * @param {number} max
 */
function expSum(logits, at, step, classes, max) {
  let z = 0;
  for (let i = at, end = at + classes * step; i < end; i += step) z += Math.exp(logits[i] - max);
  return z;
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
  const top = topClass(logits, at, step, classes);
  best[x] = top;
  confidence[x] = 1 / expSum(logits, at, step, classes, logits[at + top * step]);
}

/** exp(-i / 8) for x from 0 down to -20; below that a term is at most exp(-20). */
const ExpSteps = 8;
const ExpRange = 20;
const ExpTable = Float64Array.from({ length: ExpRange * ExpSteps + 1 }, (_, i) => Math.exp(-i / ExpSteps));
const ExpTail = Math.exp(-ExpRange);
/** Bounds the table's error (under 1e-8 relative) and that of the exact sum, with room to spare. */
const ExpSlack = 1e-7;

/** @param {number} confidence */
const percent = (confidence) => Math.round(Math.fround(confidence) * 100);

/**
 * The confidence in percent as `percent(1 / expSum(...))` gives it, bit for bit, mostly without
 * Math.exp (the largest per-pixel cost): the denominator from a table and a short series, with a
 * bound on its error; where both ends of that bound round to the same percent, the exact value
 * does too (every step from z to the percent is monotone), else it is computed exactly.
 * @param {Float32Array} logits
 * @param {number} at
 * @param {number} step
 * @param {number} classes
 * @param {number} max
 */
function confidencePercent(logits, at, step, classes, max) {
  let z = 0;
  let tail = 0;
  for (let i = at, end = at + classes * step; i < end; i += step) {
    const t = (max - logits[i]) * ExpSteps;
    if (t >= ExpRange * ExpSteps) {
      tail += ExpTail;
      continue;
    }
    const k = t | 0;
    const g = (t - k) / ExpSteps;
    // exp(-g) for g in [0, 1/8) to the 5th power: the remainder is under 6e-9 relative.
    z += ExpTable[k] * (1 - g * (1 - g * (1 / 2 - g * (1 / 6 - g * (1 / 24 - g / 120)))));
  }
  const low = percent(1 / ((z + tail) * (1 + ExpSlack)));
  if (low === percent(1 / (z * (1 - ExpSlack)))) return low;
  return percent(1 / expSum(logits, at, step, classes, max));
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
  const ids = Uint8Array.from(classIds);
  for (let r = 0; r < sums.length; r++) {
    const sum = /** @type {Float32Array} */ (sums[r]);
    const count = /** @type {Uint16Array} */ (counts[r]);
    meanInPlace(sum, count, classes);
    for (let x = 0, p = r * width; x < width; x++, p++) {
      if (count[x] === 0 || valid[p] === 0) continue;
      const top = topClass(sum, x, width, classes);
      outClasses[p] = /** @type {number} */ (ids[top]);
      outConfidence[p] = confidencePercent(sum, x, width, classes, sum[x + top * width]);
    }
  }
  return { classes: outClasses, confidence: outConfidence };
}
