import { z } from "zod";
import { TileIdParser } from "./tile.id.ts";

export const HlsProducts = ["S30", "L30"] as const;
export type HlsProduct = (typeof HlsProducts)[number];

/** One HLS v2.0 granule: a tile seen by one sensor at one moment. */
export interface GranuleId {
  product: HlsProduct;
  tileId: string;
  year: number;
  /** Day of year, 1..366. */
  doy: number;
  /** Acquisition time of day, HHMMSS (UTC). */
  time: string;
  version: string;
}

const GranulePattern = /^HLS\.(S30|L30)\.T(\w{5})\.(\d{4})(\d{3})T(\d{6})\.v(\d+\.\d+)$/;

function daysInYear(year: number): number {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 366 : 365;
}

/** Parses `HLS.S30.T15TVG.2022150T165851.v2.0`; throws naming the part that is wrong. */
export function parseGranuleId(id: string): GranuleId {
  const match = GranulePattern.exec(id);
  if (!match) {
    throw new Error(
      `'${id}' is not an HLS granule id (expected HLS.<S30|L30>.T<tile>.<YYYYDDD>T<HHMMSS>.v<major>.<minor>)`,
    );
  }
  const [, product, tileId, yearText, doyText, time, version] = match as unknown as string[];
  if (!TileIdParser.safeParse(tileId).success)
    throw new Error(`'${id}': tile 'T${tileId}' is not an MGRS tile id`);
  const year = Number(yearText);
  const doy = Number(doyText);
  if (doy < 1 || doy > daysInYear(year)) throw new Error(`'${id}': day of year ${doyText} is not in ${year}`);
  const [hh, mm, ss] = [0, 2, 4].map((i) => Number(time?.slice(i, i + 2)));
  if ((hh as number) > 23 || (mm as number) > 59 || (ss as number) > 59)
    throw new Error(`'${id}': time ${time} is not HHMMSS`);
  return {
    product: product as HlsProduct,
    tileId: tileId as string,
    year,
    doy,
    time: time as string,
    version: version as string,
  };
}

export function formatGranuleId(g: GranuleId): string {
  const doy = String(g.doy).padStart(3, "0");
  return `HLS.${g.product}.T${g.tileId}.${g.year}${doy}T${g.time}.v${g.version}`;
}

/** zod form of a granule id string, validated on parse. */
export const GranuleIdParser = z.string().refine(
  (id) => {
    try {
      parseGranuleId(id);
      return true;
    } catch {
      return false;
    }
  },
  { message: "not an HLS granule id like HLS.S30.T15TVG.2022150T165851.v2.0" },
);

/** Acquisition date as a UTC Date (from year, day of year and time). */
export function acquisitionDate(g: GranuleId): Date {
  const [hh, mm, ss] = [0, 2, 4].map((i) => Number(g.time.slice(i, i + 2)));
  return new Date(Date.UTC(g.year, 0, g.doy, hh, mm, ss));
}
