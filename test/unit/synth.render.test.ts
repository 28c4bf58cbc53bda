import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { FmaskBit, FmaskFill } from "../../lib/hls/fmask.ts";
import { createGround } from "../../scripts/synth/ground.ts";
import { profileForState } from "../../scripts/synth/profiles.ts";
import { prepareTileGround, renderGranule, storedReflectance } from "../../scripts/synth/tile.render.ts";
import { planWorld } from "../../scripts/synth/world.plan.ts";
import { DefaultSeason } from "../../scripts/synth/world.spec.ts";

describe("granule render", () => {
  it("renders the bytes it rendered before it was made fast (every sky state, water and fill)", () => {
    const plan = planWorld({ state: "RI", year: 2022, scale: "small", seed: 7, season: DefaultSeason });
    const planned = plan.tiles.find((t) => t.tile.tileId === "19TCF");
    if (!planned) throw new Error("19TCF is not in the Rhode Island world");
    const prepared = prepareTileGround(planned.window, createGround(profileForState("RI"), 7));
    const digest = createHash("md5");
    const masks = new Set<number>();
    for (const acquisition of planned.acquisitions) {
      const rendered = renderGranule(prepared, acquisition);
      for (const band of rendered.bands) digest.update(new Uint8Array(band.buffer));
      digest.update(rendered.fmask);
      for (const m of rendered.fmask) masks.add(m);
    }
    // The window holds every case the loop distinguishes, so the digest covers them all.
    const { AerosolLow, Water, Cloud, Adjacent, Shadow } = FmaskBit;
    for (const sky of [0, Cloud, Adjacent, Shadow]) {
      expect(masks).toContain(AerosolLow | sky);
      expect(masks).toContain(AerosolLow | Water | sky);
    }
    expect(masks).toContain(FmaskFill);
    // MD5 of the 28 granules as the per-pixel loop of commit 80695cc rendered them.
    expect(digest.digest("hex")).toBe("2f66ed551cdbfefbf40b838330703054");
  });

  it("rounds reflectance exactly as Math.round, then clamps it to -100..16000", () => {
    const reference = (v: number) => Math.max(-100, Math.min(16000, Math.round(v)));
    const edges = [
      0.49999999999999994,
      0.5,
      0.5000000000000001,
      1.5,
      2.5,
      -0.5,
      -1.5,
      -0.49999999999999994,
      0,
      -0,
      4095.5,
      4096.5,
      16000.49,
      16000.5,
      -100.5,
      -100.50000000000001,
      2 ** 52 - 0.5,
      2 ** 52 + 1,
      2 ** 53 + 2,
    ];
    let seed = 1;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const values = [...edges, ...Array.from({ length: 100_000 }, () => (random() - 0.1) * 20_000)];
    // Compared as stored (Int16Array), where -0 and 0 are the same bytes.
    const ours = Int16Array.from(values, storedReflectance);
    const theirs = Int16Array.from(values, reference);
    expect(Buffer.from(ours.buffer).equals(Buffer.from(theirs.buffer))).toBe(true);
  });
});
