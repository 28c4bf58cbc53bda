/**
 * The per-pixel work of sliding-window inference: window logits added into rows, summed logits
 * divided by their window count, then argmax and softmax confidence. The emit threads
 * (row.emitter.ts) and the main thread run the very same code.
 *
 * A row of sums is planar, [class][x]: a window adds each class's logits as one contiguous run.
 */

/**
 * Adds a batch's windows' logits ([window][class][y][x], each size x size, at columns `xs`, in
 * increasing order) into the rows of their window row: `sums[i]` ([class][x]) and `counts[i]` for
 * its rows `firstRow + i` (all of them from 0, or a band of them: threads add bands of the same batch
 * side by side). With `weights` (blended tiling), each logit is added times its window's weight
 * there and `counts` (float) sum the weights instead.
 *
 * Row by row, in runs of columns that the same windows cover: where two windows of the batch
 * overlap (every other column at mmseg's stride), a pixel's sum is read once, both logits added to
 * it (rounded to float32 after each, as a store would) and written once, so the sums are bit for bit
 * those of adding window after window, with a third less memory traffic (adding is bound by memory:
 * the logits and the rows' sums are far larger than the caches).
 * @param {{ logits: Float32Array, xs: number[], sums: Float32Array[], counts: (Uint16Array | Float32Array)[], size: number, classes: number, firstRow?: number, weights?: { rows: Float32Array, cols: Float32Array[] } }} batch
 */
export function addWindows(batch) {
  if (batch.weights) return addWeighted(batch, batch.weights);
  const { logits, xs, sums, counts, size, classes, firstRow = 0 } = batch;
  const plane = size * size;
  const perWindow = classes * plane;
  const spans = coverSpans(xs, size);
  for (let i = 0; i < sums.length; i++) {
    const dy = firstRow + i;
    const sum = /** @type {Float32Array} */ (sums[i]);
    const count = /** @type {Uint16Array} */ (counts[i]);
    const width = count.length;
    for (const { from, to, windows } of spans) {
      const n = windows.length;
      for (let x = from; x < to; x++) count[x] = /** @type {number} */ (count[x]) + n;
      // Where in the logits column x of each covering window lies, less x.
      const offsets = windows.map((w) => w * perWindow + dy * size - /** @type {number} */ (xs[w]));
      for (let c = 0; c < classes; c++) {
        const first = /** @type {number} */ (offsets[0]) + c * plane;
        if (n === 1) {
          for (let x = from, at = c * width + from; x < to; x++, at++)
            sum[at] = /** @type {number} */ (sum[at]) + /** @type {number} */ (logits[first + x]);
        } else if (n === 2) {
          const second = /** @type {number} */ (offsets[1]) + c * plane;
          for (let x = from, at = c * width + from; x < to; x++, at++)
            sum[at] =
              Math.fround(/** @type {number} */ (sum[at]) + /** @type {number} */ (logits[first + x])) +
              /** @type {number} */ (logits[second + x]);
        } else {
          for (let x = from, at = c * width + from; x < to; x++, at++) {
            let v = /** @type {number} */ (sum[at]);
            for (const offset of offsets)
              v = Math.fround(v + /** @type {number} */ (logits[offset + c * plane + x]));
            sum[at] = v;
          }
        }
      }
    }
  }
}

/**
 * The columns of a window row's batch cut where a window starts or ends: each run with the
 * windows that cover all of it, in batch order (columns no window covers are left out).
 * @param {number[]} xs
 * @param {number} size
 * @returns {{ from: number, to: number, windows: number[] }[]}
 */
function coverSpans(xs, size) {
  const cuts = [...new Set(xs.flatMap((x0) => [x0, x0 + size]))].sort((a, b) => a - b);
  const spans = [];
  for (let s = 0; s + 1 < cuts.length; s++) {
    const from = /** @type {number} */ (cuts[s]);
    const to = /** @type {number} */ (cuts[s + 1]);
    const windows = [];
    for (let w = 0; w < xs.length; w++) {
      const x0 = /** @type {number} */ (xs[w]);
      if (x0 <= from && to <= x0 + size) windows.push(w);
    }
    if (windows.length > 0) spans.push({ from, to, windows });
  }
  return spans;
}

/**
 * addWindows with weights: `rows` the window row's weight at each of its rows, `cols[w]` window w's
 * at each of its columns (0 on a dropped border, whose pixels are passed over).
 * @param {{ logits: Float32Array, xs: number[], sums: Float32Array[], counts: (Uint16Array | Float32Array)[], size: number, classes: number, firstRow?: number }} batch
 * @param {{ rows: Float32Array, cols: Float32Array[] }} weights
 */
function addWeighted({ logits, xs, sums, counts, size, classes, firstRow = 0 }, { rows, cols }) {
  const plane = size * size;
  const perWindow = classes * plane;
  // Each window's kept columns, and the weight of a pixel of the current row in it.
  const spans = cols.map((col) => {
    let from = 0;
    let to = size;
    while (from < to && col[from] === 0) from++;
    while (to > from && col[to - 1] === 0) to--;
    return { from, to };
  });
  const weight = new Float64Array(size);
  for (let i = 0; i < sums.length; i++) {
    const dy = firstRow + i;
    const wy = /** @type {number} */ (rows[dy]);
    if (wy === 0) continue;
    const sum = /** @type {Float32Array} */ (sums[i]);
    const total = /** @type {Float32Array} */ (counts[i]);
    const width = total.length;
    for (let w = 0; w < xs.length; w++) {
      const x0 = /** @type {number} */ (xs[w]);
      const col = /** @type {Float32Array} */ (cols[w]);
      const { from, to } = /** @type {{ from: number, to: number }} */ (spans[w]);
      for (let x = from; x < to; x++) {
        const v = wy * /** @type {number} */ (col[x]);
        weight[x] = v;
        total[x0 + x] = /** @type {number} */ (total[x0 + x]) + v;
      }
      for (let c = 0; c < classes; c++) {
        const at = c * width + x0;
        const off = w * perWindow + c * plane + dy * size;
        for (let x = from; x < to; x++)
          sum[at + x] =
            /** @type {number} */ (sum[at + x]) +
            /** @type {number} */ (logits[off + x]) * /** @type {number} */ (weight[x]);
      }
    }
  }
}

/**
 * Turns a row's sums into means in place (float32, as the sums are stored): divided by the window
 * count, or by the summed weights of blended tiling; pixels covered once (or at weight 1) keep
 * their value, which is the same.
 * @param {Float32Array} sum [class][x]
 * @param {Uint16Array | Float32Array} count [x]
 * @param {number} classes
 */
export function meanInPlace(sum, count, classes) {
  const width = count.length;
  for (let x = 0; x < width; x++) {
    const n = /** @type {number} */ (count[x]);
    if (n !== 0 && n !== 1) for (let at = x; at < classes * width; at += width) sum[at] = sum[at] / n;
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

/** exp(-i / 64) for x from 0 down to -20, and the step to the next entry; below -20 a term is at most exp(-20). */
const ExpSteps = 64;
const ExpRange = 20;
const ExpTable = Float64Array.from({ length: ExpRange * ExpSteps + 1 }, (_, i) => Math.exp(-i / ExpSteps));
const ExpRise = Float64Array.from({ length: ExpRange * ExpSteps }, (_, i) => ExpTable[i + 1] - ExpTable[i]);
const ExpTail = Math.exp(-ExpRange);
/**
 * Bounds the table's error: a chord of exp over a 1/64 step lies above it by under 3.1e-5
 * relative (h^2 / 8); the bound leaves room for that and the sum's rounding.
 */
const ExpSlack = 1e-4;

/** @param {number} confidence */
const percent = (confidence) => Math.round(Math.fround(confidence) * 100);

/**
 * The confidence in percent as `percent(1 / expSum(...))` gives it, bit for bit, mostly without
 * Math.exp (the largest per-pixel cost): the denominator from a table, linearly between its
 * entries, with a bound on its error; where both ends of that bound round to the same percent,
 * the exact value does too (every step from z to the percent is monotone), else (about one pixel
 * in 200) it is computed exactly.
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
    const t = (max - /** @type {number} */ (logits[i])) * ExpSteps;
    if (t >= ExpRange * ExpSteps) {
      tail += ExpTail;
      continue;
    }
    const k = t | 0;
    z += /** @type {number} */ (ExpTable[k]) + (t - k) * /** @type {number} */ (ExpRise[k]);
  }
  const low = percent(1 / ((z + tail) * (1 + ExpSlack)));
  if (low === percent(1 / (z * (1 - ExpSlack)))) return low;
  return percent(1 / expSum(logits, at, step, classes, max));
}

/**
 * Finished rows to map values: for each pixel some window covered and `valid` marks (data in every
 * date), the class id and the confidence in percent; other pixels get 0 and 255 (no data). Only
 * those pixels pay for the softmax.
 * @param {{ sums: Float32Array[], counts: (Uint16Array | Float32Array)[], valid: Uint8Array, classes: number, classIds: readonly number[] }} rows
 * @returns {{ classes: Uint8Array, confidence: Uint8Array }}
 */
export function emitRows({ sums, counts, valid, classes, classIds }) {
  const width = valid.length / sums.length;
  const outClasses = new Uint8Array(valid.length);
  const outConfidence = new Uint8Array(valid.length).fill(255);
  const ids = Uint8Array.from(classIds);
  for (let r = 0; r < sums.length; r++) {
    const sum = /** @type {Float32Array} */ (sums[r]);
    const count = /** @type {Uint16Array | Float32Array} */ (counts[r]);
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
