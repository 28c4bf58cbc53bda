import { describe, expect, it } from "vitest";
import { Class } from "../../lib/cdl/classes.ts";
import { CdlEpsg, transform } from "../../lib/grid/crs.ts";
import { findTile, type HlsTile } from "../../lib/grid/tile.table.ts";
import { seededRandom } from "../../lib/random.ts";
import { checkSyntheticCodes } from "../../scripts/synth/cdl.render.ts";
import { createGround } from "../../scripts/synth/ground.ts";
import { cachedFbm, cachedValueNoise, fbm, valueNoise } from "../../scripts/synth/hash.ts";
import { Profiles, profileForState } from "../../scripts/synth/profiles.ts";
import { acquisitions } from "../../scripts/synth/schedule.ts";
import { greenness } from "../../scripts/synth/spectra.ts";
import { prepareTileGround, renderGranule, type TileWindow } from "../../scripts/synth/tile.render.ts";

const ground = createGround(profileForState("RI"), 5);
const clearDay = acquisitions(2022, 182, 240, "small", 5, 0).find((a) => a.cloudTarget === 0 && !a.swath);

/** A window of `size` pixels of a tile, its upper-left corner at the tile pixel nearest (x, y). */
function windowAt(tile: HlsTile, x: number, y: number, size: number): TileWindow {
  const col = Math.round((x - tile.origin[0]) / 30);
  const row = Math.round((tile.origin[1] - y) / 30);
  return {
    epsg: tile.epsg,
    origin: [tile.origin[0] + col * 30, tile.origin[1] - row * 30],
    width: size,
    height: size,
    pixelSize: 30,
  };
}

describe("synthetic ground", () => {
  it("uses CDL codes that the shipped table maps to the intended classes", () => {
    expect(() => checkSyntheticCodes()).not.toThrow();
  });

  it("gives every profile shares that leave room for cropland and a crop mix that sums to one", () => {
    for (const profile of Object.values(Profiles)) {
      const cover = Object.values(profile.cover).reduce((a, b) => a + b, 0);
      expect(cover).toBeLessThan(1);
      expect(Object.values(profile.crops).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    }
  });

  it("greens corn and soybeans up in mid-summer and harvests winter wheat early", () => {
    expect(greenness(Class.Corn, 210)).toBeGreaterThan(greenness(Class.Corn, 130) + 0.5);
    expect(greenness(Class.Soybeans, 220)).toBeGreaterThan(greenness(Class.Soybeans, 150) + 0.5);
    expect(greenness(Class.WinterWheat, 130)).toBeGreaterThan(greenness(Class.WinterWheat, 220) + 0.5);
    expect(greenness(Class.Forest, 200)).toBeGreaterThan(0.8);
    expect(greenness(Class.Water, 200)).toBe(0);
  });

  it("renders the same bytes for the same seed, and different ones for another seed", () => {
    const tile = findTile("19TCG") as HlsTile;
    const window = windowAt(tile, 330_000, 4_640_000, 64);
    const a = renderGranule(prepareTileGround(window, ground), clearDay as NonNullable<typeof clearDay>);
    const b = renderGranule(
      prepareTileGround(window, createGround(profileForState("RI"), 5)),
      clearDay as NonNullable<typeof clearDay>,
    );
    const c = renderGranule(
      prepareTileGround(window, createGround(profileForState("RI"), 6)),
      clearDay as NonNullable<typeof clearDay>,
    );
    expect(
      Buffer.from((a.bands[3] as Int16Array).buffer).equals(Buffer.from((b.bands[3] as Int16Array).buffer)),
    ).toBe(true);
    expect(
      Buffer.from((a.bands[3] as Int16Array).buffer).equals(Buffer.from((c.bands[3] as Int16Array).buffer)),
    ).toBe(false);
  });

  it("gives overlapping tiles of one zone identical pixels where they overlap", () => {
    // 19TCF and 19TCG overlap by 9.8 km in northing and share the zone's 30 m grid.
    const lower = findTile("19TCF") as HlsTile;
    const upper = findTile("19TCG") as HlsTile;
    const y = upper.bounds[1] + 3000;
    const a = renderGranule(
      prepareTileGround(windowAt(lower, 320_000, y, 64), ground),
      clearDay as NonNullable<typeof clearDay>,
    );
    const b = renderGranule(
      prepareTileGround(windowAt(upper, 320_000, y, 64), ground),
      clearDay as NonNullable<typeof clearDay>,
    );
    expect(Array.from(a.bands[3] as Int16Array)).toEqual(Array.from(b.bands[3] as Int16Array));
  });

  it("shows the same ground point alike in tiles of neighbouring zones", () => {
    // 18TYM (zone 18) and 19TBG (zone 19) overlap around -72 degrees.
    const west = findTile("18TYM") as HlsTile;
    const east = findTile("19TBG") as HlsTile;
    const toWest = transform(4326, west.epsg);
    const toEast = transform(4326, east.epsg);
    const toAlbersW = transform(west.epsg, CdlEpsg);
    const toAlbersE = transform(east.epsg, CdlEpsg);
    const random = seededRandom(9);
    let compared = 0;
    for (let k = 0; k < 40 && compared < 15; k++) {
      const lon = -72.02 + random() * 0.04;
      const lat = 41.6 + random() * 0.3;
      const [wx, wy] = toWest.forward([lon, lat]);
      const [ex, ey] = toEast.forward([lon, lat]);
      const ww = windowAt(west, wx - 15, wy + 15, 1);
      const ew = windowAt(east, ex - 15, ey + 15, 1);
      const centre = (w: TileWindow, t: ReturnType<typeof transform>) =>
        t.forward([w.origin[0] + 15, w.origin[1] - 15]);
      const [ax, ay] = centre(ww, toAlbersW);
      const [bx, by] = centre(ew, toAlbersE);
      // Only where both pixel centres fall in the same 30 m label cell of the same patch.
      if (Math.floor(ax / 30) !== Math.floor(bx / 30) || Math.floor(ay / 30) !== Math.floor(by / 30))
        continue;
      if (ground.at(ax, ay).patch !== ground.at(bx, by).patch) continue;
      const a = renderGranule(prepareTileGround(ww, ground), clearDay as NonNullable<typeof clearDay>);
      const b = renderGranule(prepareTileGround(ew, ground), clearDay as NonNullable<typeof clearDay>);
      for (let band = 0; band < 6; band++) {
        const va = (a.bands[band] as Int16Array)[0] as number;
        const vb = (b.bands[band] as Int16Array)[0] as number;
        expect(Math.abs(va - vb), `band ${band} at ${lon},${lat}`).toBeLessThanOrEqual(
          Math.max(4, 0.02 * Math.abs(va)),
        );
      }
      compared++;
    }
    expect(compared).toBeGreaterThan(5);
  });

  it("gives the same noise cached as uncached, whatever order the points come in", () => {
    const random = seededRandom(11);
    const noise = cachedValueNoise();
    const octaves = cachedFbm();
    // Runs along rows (the cache's hits), jumps back into earlier cells, and salt changes in a cell.
    let x = 0;
    let y = 0;
    for (let i = 0; i < 20_000; i++) {
      const r = random();
      if (r < 0.05) [x, y] = [(random() - 0.5) * 40, (random() - 0.5) * 40];
      else x += random() * 0.2;
      const salt = r > 0.97 ? 5 : 4;
      expect(noise(x, y, salt)).toBe(valueNoise(x, y, salt));
      expect(octaves(x, y, salt)).toBe(fbm(x, y, salt));
    }
  });
});
