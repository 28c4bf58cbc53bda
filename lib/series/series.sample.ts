import type { SeriesSampling, SeriesSplit } from "../contracts/series.dataset.contract.ts";
import type { SeriesDate } from "./series.input.ts";

/**
 * A seeded draw in [0, 1) from integers (a 32-bit multiply-xorshift mix of each): the same pixel
 * gets the same draw in every tile, every run and every order of work.
 */
export function seededDraw(seed: number, ...values: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const v of values) {
    h = Math.imul(h ^ (v >>> 0), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return (h >>> 0) / 4294967296;
}

/** What each draw is for, so the split of a block and the ranks of its pixels are independent. */
const Salt = { block: 1, labelled: 2, unlabelled: 3 } as const;

/** The split of a label pixel: its block's seeded draw against the shares. */
export function splitOf(
  col: number,
  row: number,
  sampling: Pick<SeriesSampling, "blockPixels" | "testShare">,
  seed: number,
  validationShare: number,
): Exclude<SeriesSplit, "UNLABELLED"> {
  const b = sampling.blockPixels;
  const u = seededDraw(seed, Salt.block, Math.floor(col / b), Math.floor(row / b));
  if (u < validationShare) return "VALIDATE";
  return u < validationShare + sampling.testShare ? "TEST" : "TRAIN";
}

/** The rank of a pixel within its split and class (labelled) or among the unlabelled. */
export const sampleKey = (seed: number, kind: "labelled" | "unlabelled", col: number, row: number) =>
  seededDraw(seed, Salt[kind], col, row);

/** Dates on which the pixel itself is clear (strips loaded; NaN where not clear). */
export function centreClear(dates: SeriesDate[], x: number, y: number): number {
  let n = 0;
  for (const date of dates) {
    const { y0, data } = date.strip as NonNullable<SeriesDate["strip"]>;
    if (!Number.isNaN(data[(y - y0) * date.header.grid.width + x] as number)) n++;
  }
  return n;
}

/** One pixel's series from clear dates only, as SITS-Former's files hold it. */
export interface ClearSeries {
  /** int16 [dates][6][patch][patch], reflectance as stored. */
  ts: Int16Array;
  doy: Int16Array;
  dates: number;
}

/**
 * The pixel's series from the dates on which its whole patch is clear and on the grid (the
 * original's patches come from cloud-free images, so no value stands in for another), in date
 * order. Reads strips loaded unscaled (`divideBy` 1) with a halo of (patch - 1) / 2 rows.
 */
export function clearSeries(dates: SeriesDate[], x: number, y: number, patch: number): ClearSeries {
  const half = (patch - 1) / 2;
  const area = patch * patch;
  const width = (dates[0] as SeriesDate).header.grid.width;
  const kept: number[] = [];
  if (x - half >= 0 && x + half < width)
    dates.forEach((date, t) => {
      const { y0, data } = date.strip as NonNullable<SeriesDate["strip"]>;
      for (let dy = -half; dy <= half; dy++) {
        const at = (y + dy - y0) * width + x;
        // Band 0 tells: a pixel not clear is nodata in every band, and rows off the grid are NaN.
        for (let dx = -half; dx <= half; dx++) if (Number.isNaN(data[at + dx] as number)) return;
      }
      kept.push(t);
    });
  const ts = new Int16Array(kept.length * 6 * area);
  let o = 0;
  for (const t of kept) {
    const { y0, rows, data } = (dates[t] as SeriesDate).strip as NonNullable<SeriesDate["strip"]>;
    for (let b = 0; b < 6; b++)
      for (let dy = -half; dy <= half; dy++) {
        const at = (b * rows + y + dy - y0) * width + x;
        for (let dx = -half; dx <= half; dx++) ts[o++] = data[at + dx] as number;
      }
  }
  return { ts, doy: Int16Array.from(kept, (t) => (dates[t] as SeriesDate).doy), dates: kept.length };
}

interface Drawn<T> {
  key: number;
  pixel: number;
  value?: T;
}

/**
 * The `cap` least-keyed pixels that pass a check, offered a row at a time: newcomers below the bar
 * wait until `settle`, which takes them in key order (ties by pixel) and checks each only until
 * the cap is full again, so a large tile checks few pixels more than it keeps.
 */
export class CappedDraw<T> {
  private kept: Required<Drawn<T>>[] = [];
  private fresh: Drawn<T>[] = [];

  constructor(readonly cap: number) {}

  offer(key: number, pixel: number): void {
    const full = this.kept.length >= this.cap;
    if (!full || key < (this.kept[this.kept.length - 1] as Drawn<T>).key) this.fresh.push({ key, pixel });
  }

  settle(check: (pixel: number) => T | null): void {
    if (this.fresh.length === 0) return;
    const all: Drawn<T>[] = [...this.kept, ...this.fresh].sort((a, b) => a.key - b.key || a.pixel - b.pixel);
    this.fresh = [];
    const out: Required<Drawn<T>>[] = [];
    for (const d of all) {
      if (out.length >= this.cap) break;
      if (d.value === undefined) {
        const value = check(d.pixel);
        if (value === null) continue;
        d.value = value;
      }
      out.push(d as Required<Drawn<T>>);
    }
    this.kept = out;
  }

  get values(): Required<Drawn<T>>[] {
    return this.kept;
  }
}
