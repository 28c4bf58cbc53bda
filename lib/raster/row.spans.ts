/**
 * Pixels of a raster's rows as spans: for each row, sorted disjoint [from, to) column pairs, flat.
 * Masks made of polygons are combined as spans (a handful per row) rather than pixel by pixel.
 */
export type RowSpans = number[][];

/** The spans of `a` that are also in `b`, row by row. */
export function intersectSpans(a: RowSpans, b: RowSpans): RowSpans {
  return a.map((row, r) => {
    const other = b[r] as number[];
    const out: number[] = [];
    let j = 0;
    for (let i = 0; i < row.length; i += 2) {
      const from = row[i] as number;
      const to = row[i + 1] as number;
      while (j < other.length && (other[j + 1] as number) <= from) j += 2;
      for (let k = j; k < other.length && (other[k] as number) < to; k += 2) {
        const f = Math.max(from, other[k] as number);
        const t = Math.min(to, other[k + 1] as number);
        if (t > f) out.push(f, t);
      }
    }
    return out;
  });
}

/** The spans of `a` that are not in `b`, row by row. */
export function subtractSpans(a: RowSpans, b: RowSpans): RowSpans {
  return a.map((row, r) => {
    const other = b[r] as number[];
    const out: number[] = [];
    let j = 0;
    for (let i = 0; i < row.length; i += 2) {
      let from = row[i] as number;
      const to = row[i + 1] as number;
      while (j < other.length && (other[j + 1] as number) <= from) j += 2;
      for (let k = j; k < other.length && (other[k] as number) < to; k += 2) {
        if ((other[k] as number) > from) out.push(from, other[k] as number);
        from = Math.max(from, other[k + 1] as number);
      }
      if (to > from) out.push(from, to);
    }
    return out;
  });
}

/**
 * Sets `value` in a block of `mask` (`width` columns from column `col0` of the spans' raster, as
 * many rows as the block holds) where spans cover it.
 */
export function fillSpans(
  mask: Uint8Array,
  spans: RowSpans,
  col0: number,
  width: number,
  value: number,
): void {
  const rows = Math.min(spans.length, mask.length / width);
  for (let r = 0; r < rows; r++) {
    const row = spans[r] as number[];
    for (let k = 0; k < row.length; k += 2) {
      const from = Math.max(row[k] as number, col0) - col0;
      const to = Math.min(row[k + 1] as number, col0 + width) - col0;
      if (to > from) mask.fill(value, r * width + from, r * width + to);
    }
  }
}

/** Whether any row's spans reach columns [col0, col0 + width). */
export function spansMeet(spans: RowSpans, col0: number, width: number): boolean {
  return spans.some((row) => {
    for (let k = 0; k < row.length; k += 2)
      if ((row[k] as number) < col0 + width && (row[k + 1] as number) > col0) return true;
    return false;
  });
}
