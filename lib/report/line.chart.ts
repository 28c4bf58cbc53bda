import { encodePng } from "../raster/png.ts";

/** A curve to draw: points (x, y) in data units; NaN or null y values are gaps. */
export interface Curve {
  points: [number, number | null][];
  rgb: [number, number, number];
}

/**
 * Curves on one plot as a PNG (white ground, grey frame, a faint line at each quarter of the y
 * range). Axis labels and values go in the HTML beside it: the PNG carries no text, so the chart
 * needs no font. The y range is the curves' own (or `yRange`).
 */
export function lineChartPng(
  curves: Curve[],
  { width = 640, height = 320, yRange }: { width?: number; height?: number; yRange?: [number, number] } = {},
): Buffer {
  const rgba = new Uint8Array(width * height * 4).fill(255);
  const set = (x: number, y: number, [r, g, b]: [number, number, number]) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const i = (Math.round(y) * width + Math.round(x)) * 4;
    rgba[i] = r;
    rgba[i + 1] = g;
    rgba[i + 2] = b;
  };
  const pad = 12;
  const grey: [number, number, number] = [160, 160, 160];
  const faint: [number, number, number] = [225, 225, 225];
  for (let q = 1; q < 4; q++) {
    const y = pad + ((height - 2 * pad) * q) / 4;
    for (let x = pad; x < width - pad; x++) set(x, y, faint);
  }
  for (let x = pad; x < width - pad; x++) {
    set(x, pad, grey);
    set(x, height - pad, grey);
  }
  for (let y = pad; y <= height - pad; y++) {
    set(pad, y, grey);
    set(width - pad, y, grey);
  }
  const all = curves.flatMap((c) => c.points).filter((p): p is [number, number] => Number.isFinite(p[1]));
  if (all.length === 0) return encodePng(width, height, rgba);
  const xs = all.map((p) => p[0]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = yRange ?? [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  const px = (x: number) => pad + ((x - x0) / (x1 - x0 || 1)) * (width - 2 * pad);
  const py = (y: number) => height - pad - ((y - y0) / (y1 - y0 || 1)) * (height - 2 * pad);
  for (const { points, rgb } of curves) {
    let last: [number, number] | undefined;
    for (const [x, y] of points) {
      if (y === null || !Number.isFinite(y)) {
        last = undefined;
        continue;
      }
      const at: [number, number] = [px(x), py(y)];
      // A line two pixels thick from the last point; a lone point as a small square.
      const from = last ?? at;
      const steps = Math.max(1, Math.ceil(Math.hypot(at[0] - from[0], at[1] - from[1])));
      for (let s = 0; s <= steps; s++) {
        const x = from[0] + ((at[0] - from[0]) * s) / steps;
        const y = from[1] + ((at[1] - from[1]) * s) / steps;
        for (const [dx, dy] of [
          [0, 0],
          [1, 0],
          [0, 1],
          [1, 1],
        ])
          set(x + (dx as number), y + (dy as number), rgb);
      }
      last = at;
    }
  }
  return encodePng(width, height, rgba);
}
