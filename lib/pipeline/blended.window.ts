/**
 * The weights of blended tiling (TerraTorch's tiled inference, see tiling.contract.ts), one axis at
 * a time: a window's weight at a pixel is its column's weight times its row's.
 *
 * Windows sit where the slide puts them (windowStarts: every stride, the last moved back to the
 * edge; for TerraTorch's 224/192 the same places as its own). Along an axis, a window keeps its
 * pixels but for `border` at each end that faces another window (a ViT's logits are worst at a
 * window's edge), and keeps them at the raster's edges, which no other window reaches, instead of
 * reading a reflected pad as TerraTorch does. Where the kept spans of two neighbours overlap, one
 * rises as the other falls, along a raised cosine over exactly that overlap: the two sum to one, so
 * on every covered pixel the weights of the windows there sum to one before any normalisation, and
 * no weight is 0 (a pixel at a tile's edge or next to no data is never left to a vanishing weight).
 * The sums are still divided by the summed weights (float rounding, and strides under half a window,
 * where three windows meet).
 */

/** Raised cosine from (0, 1) to (0, 1), k = 0 .. r - 1: the rising half of a Hann window, ends excluded. */
function rise(k: number, r: number): number {
  return 0.5 - 0.5 * Math.cos((Math.PI * (k + 1)) / (r + 1));
}

/**
 * Each window's weights along one axis (the window's `size` pixels, 0 on its dropped border), for
 * windows at `starts` (ascending, the last ending at the raster's edge), keyed by start.
 */
export function axisWeights(
  starts: readonly number[],
  size: number,
  border: number,
): Map<number, Float32Array> {
  const n = starts.length;
  const kept = (i: number) => {
    const x0 = starts[i] as number;
    return { from: i > 0 ? x0 + border : x0, to: i < n - 1 ? x0 + size - border : x0 + size };
  };
  const out = new Map<number, Float32Array>();
  for (let i = 0; i < n; i++) {
    const x0 = starts[i] as number;
    const { from, to } = kept(i);
    const half = Math.floor((to - from) / 2);
    // Overlaps with the neighbours' kept spans; past half the span, a third window shares the pixels.
    const left = i > 0 ? Math.min(half, Math.max(0, kept(i - 1).to - from)) : 0;
    const right = i < n - 1 ? Math.min(half, Math.max(0, to - kept(i + 1).from)) : 0;
    const w = new Float32Array(size);
    for (let x = from; x < to; x++) {
      const k = x - from;
      const back = to - 1 - x;
      w[x - x0] = k < left ? rise(k, left) : back < right ? rise(back, right) : 1;
    }
    out.set(x0, w);
  }
  return out;
}
