/**
 * Georeferencing from GeoTIFF keys as real files carry them. HLS v2.0 files processed in 2020-2022
 * describe WGS 84 / UTM as user-defined keys (ProjectedCSTypeGeoKey 32767 with a UTM zone in
 * ProjectionGeoKey, or the Transverse Mercator parameters themselves); CDL rasters from CropScape
 * describe NAD83 / Conus Albers by its parameters. Projections are compared by parameters, not by
 * code, and resolved to the EPSG code the rest of the pipeline works in. Anything else is refused.
 */

import { CdlEpsg } from "../grid/crs.ts";

/** Keys as geotiff.js's `getGeoKeys()` names them. */
export type GeoKeys = Record<string, unknown>;

/** A raster whose georeferencing the pipeline does not handle: never fixed by a retry. */
export class UnsupportedCrsError extends Error {
  override name = "UnsupportedCrsError";
}

const UserDefined = 32767;

const CoordTrans = { TransverseMercator: 1, AlbersEqualArea: 11 } as const;
const CoordTransNames: Record<number, string> = {
  1: "TransverseMercator",
  7: "Mercator",
  8: "LambertConfConic_2SP",
  9: "LambertConfConic_1SP",
  10: "LambertAzimEqualArea",
  11: "AlbersEqualArea",
  17: "Equirectangular",
};

const Ellipsoid = {
  Wgs84: { code: 7030, datum: 6326, geographic: 4326, a: 6378137, invf: 298.257223563 },
  Grs80: { code: 7019, datum: 6269, geographic: 4269, a: 6378137, invf: 298.257222101 },
} as const;
type EllipsoidSpec = (typeof Ellipsoid)[keyof typeof Ellipsoid];

/** EPSG:5070's parameters. */
const ConusAlbers = {
  ProjStdParallel1GeoKey: 29.5,
  ProjStdParallel2GeoKey: 45.5,
  originLat: 23,
  originLong: -96,
  falseEasting: 0,
  falseNorthing: 0,
};

const num = (keys: GeoKeys, name: string): number | undefined =>
  typeof keys[name] === "number" ? (keys[name] as number) : undefined;

/** The first of several keys that is set: files name the same parameter differently. */
function first(keys: GeoKeys, ...names: string[]): number | undefined {
  for (const n of names) {
    const v = num(keys, n);
    if (v !== undefined) return v;
  }
  return undefined;
}

const near = (a: number | undefined, b: number, tolerance = 1e-7) =>
  a !== undefined && Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b));

export function isUtmEpsg(epsg: number): boolean {
  return (epsg > 32600 && epsg <= 32660) || (epsg > 32700 && epsg <= 32760);
}

/** One line naming every key found, for messages (citations quoted, long values cut). */
export function describeGeoKeys(keys: GeoKeys | null | undefined): string {
  if (!keys || Object.keys(keys).length === 0) return "no GeoKeys";
  return Object.entries(keys)
    .map(([name, value]) => {
      let v = typeof value === "string" ? JSON.stringify(value.replace(/\|$/, "")) : JSON.stringify(value);
      if (v.length > 80) v = `${v.slice(0, 77)}...`;
      const trans = name === "ProjCoordTransGeoKey" ? CoordTransNames[value as number] : undefined;
      return `${name}=${v}${trans ? ` (${trans})` : ""}`;
    })
    .join(", ");
}

/** Whether the geographic part of the keys is on the given ellipsoid (by code or by its axes). */
function onEllipsoid(keys: GeoKeys, e: EllipsoidSpec): boolean {
  const geographic = num(keys, "GeographicTypeGeoKey");
  if (geographic !== undefined && geographic !== UserDefined) return geographic === e.geographic;
  const datum = num(keys, "GeogGeodeticDatumGeoKey");
  if (datum !== undefined && datum !== UserDefined) return datum === e.datum;
  const ellipsoid = num(keys, "GeogEllipsoidGeoKey");
  if (ellipsoid !== undefined && ellipsoid !== UserDefined) return ellipsoid === e.code;
  return (
    near(num(keys, "GeogSemiMajorAxisGeoKey"), e.a, 1e-9) &&
    near(num(keys, "GeogInvFlatteningGeoKey"), e.invf, 1e-9)
  );
}

/** A datum shift to WGS 84, if the file carries one that is not zero. */
function hasDatumShift(keys: GeoKeys): boolean {
  const shift = keys.GeogTOWGS84GeoKey;
  if (shift === undefined || shift === null) return false;
  const values = typeof shift === "object" ? Object.values(shift as object) : [shift];
  return values.some((v) => typeof v === "number" && v !== 0);
}

function metres(keys: GeoKeys): boolean {
  const unit = num(keys, "ProjLinearUnitsGeoKey");
  return unit === undefined || unit === 9001;
}

/** UTM zone code (326xx/327xx) for user-defined keys, or undefined when they are not UTM. */
function userDefinedUtm(keys: GeoKeys): number | undefined {
  if (!onEllipsoid(keys, Ellipsoid.Wgs84) || hasDatumShift(keys) || !metres(keys)) return undefined;
  const projection = num(keys, "ProjectionGeoKey");
  if (projection !== undefined && projection >= 16001 && projection <= 16060)
    return 32600 + projection - 16000;
  if (projection !== undefined && projection >= 16101 && projection <= 16160)
    return 32700 + projection - 16100;
  if (num(keys, "ProjCoordTransGeoKey") !== CoordTrans.TransverseMercator) return undefined;
  const lon0 = first(keys, "ProjNatOriginLongGeoKey", "ProjFalseOriginLongGeoKey", "ProjCenterLongGeoKey");
  const zone = lon0 === undefined ? Number.NaN : (lon0 + 183) / 6;
  const z = Math.round(zone);
  const standard =
    near(zone, z, 1e-9) &&
    z >= 1 &&
    z <= 60 &&
    near(first(keys, "ProjNatOriginLatGeoKey", "ProjFalseOriginLatGeoKey", "ProjCenterLatGeoKey") ?? 0, 0) &&
    near(first(keys, "ProjScaleAtNatOriginGeoKey", "ProjScaleAtCenterGeoKey"), 0.9996, 1e-9) &&
    near(first(keys, "ProjFalseEastingGeoKey", "ProjFalseOriginEastingGeoKey"), 500000);
  if (!standard) return undefined;
  const falseNorthing = first(keys, "ProjFalseNorthingGeoKey", "ProjFalseOriginNorthingGeoKey") ?? 0;
  if (near(falseNorthing, 0)) return 32600 + z;
  if (near(falseNorthing, 10_000_000)) return 32700 + z;
  return undefined;
}

/** Whether user-defined keys carry EPSG:5070's Albers on NAD83 / GRS80. */
function isConusAlbers(keys: GeoKeys): boolean {
  if (num(keys, "ProjCoordTransGeoKey") !== CoordTrans.AlbersEqualArea) return false;
  if (!onEllipsoid(keys, Ellipsoid.Grs80) || hasDatumShift(keys) || !metres(keys)) return false;
  return (
    near(num(keys, "ProjStdParallel1GeoKey"), ConusAlbers.ProjStdParallel1GeoKey) &&
    near(num(keys, "ProjStdParallel2GeoKey"), ConusAlbers.ProjStdParallel2GeoKey) &&
    near(
      first(keys, "ProjNatOriginLatGeoKey", "ProjFalseOriginLatGeoKey", "ProjCenterLatGeoKey"),
      ConusAlbers.originLat,
    ) &&
    near(
      first(keys, "ProjNatOriginLongGeoKey", "ProjFalseOriginLongGeoKey", "ProjCenterLongGeoKey"),
      ConusAlbers.originLong,
    ) &&
    near(
      first(keys, "ProjFalseEastingGeoKey", "ProjFalseOriginEastingGeoKey") ?? 0,
      ConusAlbers.falseEasting,
    ) &&
    near(
      first(keys, "ProjFalseNorthingGeoKey", "ProjFalseOriginNorthingGeoKey") ?? 0,
      ConusAlbers.falseNorthing,
    )
  );
}

/**
 * The EPSG code of a raster's projected CRS: WGS 84 / UTM (326xx north, 327xx south) or NAD83 /
 * Conus Albers (5070), given as codes or as user-defined keys with the same parameters. `source`
 * names the file in the message of the UnsupportedCrsError thrown for anything else.
 */
export function epsgFromGeoKeys(keys: GeoKeys | null | undefined, source: string): number {
  const refuse = (why: string) =>
    new UnsupportedCrsError(
      `${source}: ${why} (${describeGeoKeys(keys)}); supported: WGS 84 / UTM (EPSG 326xx, 327xx or ` +
        "user-defined UTM keys) and NAD83 / Conus Albers (EPSG:5070 or its parameters)",
    );
  if (!keys) throw refuse("no georeferencing");
  const model = num(keys, "GTModelTypeGeoKey");
  if (model === 2) throw refuse("a geographic (latitude/longitude) raster");
  const code = num(keys, "ProjectedCSTypeGeoKey");
  if (code === undefined) throw refuse("no projected CRS");
  if (code !== UserDefined) {
    if (isUtmEpsg(code) || code === CdlEpsg) return code;
    throw refuse(`EPSG:${code} is not a supported CRS`);
  }
  const utm = userDefinedUtm(keys);
  if (utm !== undefined) return utm;
  if (isConusAlbers(keys)) return CdlEpsg;
  throw refuse("user-defined projection that is neither WGS 84 / UTM nor EPSG:5070's Albers");
}
