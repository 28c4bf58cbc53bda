/**
 * Colour difference as people with each common colour-vision deficiency see it, to check that a
 * map's classes stay apart. Dichromacy is simulated with Machado, Oliveira and Fernandes (2009),
 * severity 1, in linear sRGB; differences are CIEDE2000 in CIELAB (D65).
 */
export type Rgb = readonly [number, number, number];
export type Vision = "normal" | "protanopia" | "deuteranopia" | "tritanopia";

const Machado: Record<Exclude<Vision, "normal">, number[]> = {
  protanopia: [0.152286, 1.052583, -0.204868, 0.114503, 0.786281, 0.099216, -0.003882, -0.048116, 1.051998],
  deuteranopia: [0.367322, 0.860646, -0.227968, 0.280085, 0.672501, 0.047413, -0.01182, 0.04294, 0.968881],
  tritanopia: [1.255528, -0.076749, -0.178779, -0.078411, 0.930809, 0.147602, 0.004733, 0.691367, 0.3039],
};

const toLinear = (v: number) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
};

function lab(linear: [number, number, number]): [number, number, number] {
  const [r, g, b] = linear.map((v) => Math.min(1, Math.max(0, v))) as [number, number, number];
  const x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
  const y = 0.2126729 * r + 0.7151522 * g + 0.072175 * b;
  const z = (0.0193339 * r + 0.119192 * g + 0.9503041 * b) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

/** A colour as seen with the given vision, in CIELAB. */
export function seenAs(rgb: Rgb, vision: Vision): [number, number, number] {
  const linear = rgb.map(toLinear) as [number, number, number];
  if (vision === "normal") return lab(linear);
  const m = Machado[vision];
  const [r, g, b] = linear;
  return lab([
    (m[0] as number) * r + (m[1] as number) * g + (m[2] as number) * b,
    (m[3] as number) * r + (m[4] as number) * g + (m[5] as number) * b,
    (m[6] as number) * r + (m[7] as number) * g + (m[8] as number) * b,
  ]);
}

const rad = Math.PI / 180;

/** CIEDE2000 colour difference (Sharma, Wu and Dalal 2005). */
export function deltaE2000(a: [number, number, number], b: [number, number, number]): number {
  const [l1, a1, b1] = a;
  const [l2, a2, b2] = b;
  const c1 = Math.hypot(a1, b1);
  const c2 = Math.hypot(a2, b2);
  const cMean = (c1 + c2) / 2;
  const g = 0.5 * (1 - Math.sqrt(cMean ** 7 / (cMean ** 7 + 25 ** 7)));
  const ap1 = (1 + g) * a1;
  const ap2 = (1 + g) * a2;
  const cp1 = Math.hypot(ap1, b1);
  const cp2 = Math.hypot(ap2, b2);
  const hue = (y: number, x: number) => (x === 0 && y === 0 ? 0 : (Math.atan2(y, x) / rad + 360) % 360);
  const hp1 = hue(b1, ap1);
  const hp2 = hue(b2, ap2);
  const dL = l2 - l1;
  const dC = cp2 - cp1;
  let dh = 0;
  if (cp1 * cp2 !== 0)
    dh = Math.abs(hp2 - hp1) <= 180 ? hp2 - hp1 : hp2 - hp1 > 180 ? hp2 - hp1 - 360 : hp2 - hp1 + 360;
  const dH = 2 * Math.sqrt(cp1 * cp2) * Math.sin((dh / 2) * rad);
  const lMean = (l1 + l2) / 2;
  const cpMean = (cp1 + cp2) / 2;
  let hMean = hp1 + hp2;
  if (cp1 * cp2 !== 0)
    hMean = Math.abs(hp1 - hp2) <= 180 ? hMean / 2 : hMean < 360 ? (hMean + 360) / 2 : (hMean - 360) / 2;
  const t =
    1 -
    0.17 * Math.cos((hMean - 30) * rad) +
    0.24 * Math.cos(2 * hMean * rad) +
    0.32 * Math.cos((3 * hMean + 6) * rad) -
    0.2 * Math.cos((4 * hMean - 63) * rad);
  const sl = 1 + (0.015 * (lMean - 50) ** 2) / Math.sqrt(20 + (lMean - 50) ** 2);
  const sc = 1 + 0.045 * cpMean;
  const sh = 1 + 0.015 * cpMean * t;
  const rt =
    -2 *
    Math.sqrt(cpMean ** 7 / (cpMean ** 7 + 25 ** 7)) *
    Math.sin(60 * Math.exp(-(((hMean - 275) / 25) ** 2)) * rad);
  return Math.sqrt((dL / sl) ** 2 + (dC / sc) ** 2 + (dH / sh) ** 2 + rt * (dC / sc) * (dH / sh));
}

/** The closest pair of colours as seen with each vision: the palette's weakest spot. */
export function closestPair(
  colours: readonly Rgb[],
  vision: Vision,
): { i: number; j: number; deltaE: number } {
  let best = { i: -1, j: -1, deltaE: Number.POSITIVE_INFINITY };
  const seen = colours.map((c) => seenAs(c, vision));
  for (let i = 0; i < seen.length; i++)
    for (let j = i + 1; j < seen.length; j++) {
      const d = deltaE2000(seen[i] as [number, number, number], seen[j] as [number, number, number]);
      if (d < best.deltaE) best = { i, j, deltaE: d };
    }
  return best;
}
