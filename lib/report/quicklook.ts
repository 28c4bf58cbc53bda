import { encodePng } from "../raster/png.ts";

/** Longer side of a quicklook, in pixels. */
export const QuicklookMax = 1024;

/** The step of a quicklook: every n-th pixel so the longer side is at most `max`. */
export function quicklookStep(width: number, height: number, max = QuicklookMax): number {
  return Math.max(1, Math.ceil(Math.max(width, height) / max));
}

/** Every n-th pixel so the longer side is at most `max`: a quicklook, not a resampling. */
function sampling(width: number, height: number, max: number) {
  const s = quicklookStep(width, height, max);
  const w = Math.ceil(width / s);
  const h = Math.ceil(height / s);
  return { s, w, h, rgba: new Uint8Array(w * h * 4) };
}

/** The class map as a PNG, class colours from the palette, transparent where there is no class. */
export function mapQuicklook(
  classes: Uint8Array,
  width: number,
  height: number,
  palette: readonly (readonly number[])[],
  max = QuicklookMax,
): Buffer {
  const { s, w, h, rgba } = sampling(width, height, max);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = classes[y * s * width + x * s] as number;
      if (v === 0) continue;
      const c = palette[v] ?? [0, 0, 0];
      rgba.set([c[0] as number, c[1] as number, c[2] as number, 255], (y * w + x) * 4);
    }
  }
  return encodePng(w, h, rgba);
}

/** Where the map and the labels agree (grey) and disagree (red); transparent where either is missing. */
export function disagreementQuicklook(
  classes: Uint8Array,
  labels: Uint8Array,
  width: number,
  height: number,
  max = QuicklookMax,
): Buffer {
  const { s, w, h, rgba } = sampling(width, height, max);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * s * width + x * s;
      const p = classes[i] as number;
      const l = labels[i] as number;
      if (p === 0 || l === 0) continue;
      rgba.set(p === l ? [200, 200, 200, 255] : [220, 30, 30, 255], (y * w + x) * 4);
    }
  }
  return encodePng(w, h, rgba);
}
