import { describe, expect, it } from "vitest";
import { transform } from "../../lib/grid/crs.ts";
import { epsgFromGeoKeys, type GeoKeys, UnsupportedCrsError } from "../../lib/raster/geokeys.ts";

// Key sets as geotiff.js reads them from real files: HLS processed 2020-2022, and what GDAL 3.6
// writes for the PROJ strings named beside each (captured from gdal_create output).
const wgs84UserGeog: GeoKeys = {
  GTModelTypeGeoKey: 1,
  GTRasterTypeGeoKey: 1,
  GeographicTypeGeoKey: 32767,
  GeogCitationGeoKey: "GCS Name = unknown|Datum = Unknown based on WGS84 ellipsoid|Primem = Greenwich|",
  GeogGeodeticDatumGeoKey: 32767,
  GeogAngularUnitsGeoKey: 9102,
  GeogEllipsoidGeoKey: 7030,
  GeogSemiMajorAxisGeoKey: 6378137,
  GeogInvFlatteningGeoKey: 298.257223563,
  GeogPrimeMeridianLongGeoKey: 0,
};

/** HLS v2.0 as processed 2020-2022: user-defined PCS with a UTM zone code in ProjectionGeoKey. */
const hlsUtm15N: GeoKeys = {
  ...wgs84UserGeog,
  GTCitationGeoKey: "UTM Zone 15, Northern Hemisphere",
  ProjectedCSTypeGeoKey: 32767,
  ProjectionGeoKey: 16015,
  ProjLinearUnitsGeoKey: 9001,
};

/** The same zone spelled as Transverse Mercator parameters. */
function transverseMercator(lon0: number, falseNorthing: number): GeoKeys {
  return {
    ...wgs84UserGeog,
    ProjectedCSTypeGeoKey: 32767,
    ProjectionGeoKey: 32767,
    ProjCoordTransGeoKey: 1,
    ProjLinearUnitsGeoKey: 9001,
    ProjNatOriginLongGeoKey: lon0,
    ProjNatOriginLatGeoKey: 0,
    ProjScaleAtNatOriginGeoKey: 0.9996,
    ProjFalseEastingGeoKey: 500000,
    ProjFalseNorthingGeoKey: falseNorthing,
  };
}

const albersParams = {
  ProjectedCSTypeGeoKey: 32767,
  ProjectionGeoKey: 32767,
  ProjCoordTransGeoKey: 11,
  ProjLinearUnitsGeoKey: 9001,
  ProjStdParallel1GeoKey: 29.5,
  ProjStdParallel2GeoKey: 45.5,
  ProjNatOriginLongGeoKey: -96,
  ProjNatOriginLatGeoKey: 23,
  ProjFalseEastingGeoKey: 0,
  ProjFalseNorthingGeoKey: 0,
};

/** GDAL: +proj=aea ... +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 (CropScape's form). */
const cropScapeAlbers: GeoKeys = {
  GTModelTypeGeoKey: 1,
  GTRasterTypeGeoKey: 1,
  GeographicTypeGeoKey: 32767,
  GeogGeodeticDatumGeoKey: 32767,
  GeogAngularUnitsGeoKey: 9102,
  GeogEllipsoidGeoKey: 7019,
  GeogSemiMajorAxisGeoKey: 6378137,
  GeogInvFlatteningGeoKey: 298.257222101,
  GeogPrimeMeridianLongGeoKey: 0,
  GeogTOWGS84GeoKey: { 0: 0, 1: 0, 2: 0 },
  ...albersParams,
};

/** GDAL: +proj=aea ... +datum=NAD83 (geographic CRS by code). */
const nad83Albers: GeoKeys = {
  GTModelTypeGeoKey: 1,
  GeographicTypeGeoKey: 4269,
  GeogSemiMajorAxisGeoKey: 6378137,
  GeogInvFlatteningGeoKey: 298.257222101,
  ...albersParams,
};

const resolve = (keys: GeoKeys | null) => epsgFromGeoKeys(keys, "s3://b/file.tif");

describe("epsgFromGeoKeys", () => {
  it("takes UTM and Conus Albers codes as they are", () => {
    expect(resolve({ GTModelTypeGeoKey: 1, ProjectedCSTypeGeoKey: 32615 })).toBe(32615);
    expect(resolve({ GTModelTypeGeoKey: 1, ProjectedCSTypeGeoKey: 32735 })).toBe(32735);
    expect(resolve({ GTModelTypeGeoKey: 1, ProjectedCSTypeGeoKey: 5070 })).toBe(5070);
  });

  it("resolves user-defined UTM zone codes, north and south", () => {
    expect(resolve(hlsUtm15N)).toBe(32615);
    expect(resolve({ ...hlsUtm15N, ProjectionGeoKey: 16001 })).toBe(32601);
    expect(resolve({ ...hlsUtm15N, ProjectionGeoKey: 16060 })).toBe(32660);
    expect(resolve({ ...hlsUtm15N, ProjectionGeoKey: 16115 })).toBe(32715);
    expect(resolve({ ...hlsUtm15N, ProjectionGeoKey: 16160 })).toBe(32760);
  });

  it("resolves Transverse Mercator parameters that are a UTM zone", () => {
    expect(resolve(transverseMercator(-93, 0))).toBe(32615);
    expect(resolve(transverseMercator(27, 0))).toBe(32635);
    expect(resolve(transverseMercator(-177, 10_000_000))).toBe(32701);
    // WGS 84 named by its geographic code instead of its ellipsoid
    const byCode = {
      ...transverseMercator(-93, 0),
      GeographicTypeGeoKey: 4326,
      GeogEllipsoidGeoKey: undefined,
    };
    expect(resolve(byCode)).toBe(32615);
  });

  it("resolves Albers with EPSG:5070's parameters on NAD83 / GRS80, with or without a zero shift", () => {
    expect(resolve(cropScapeAlbers)).toBe(5070);
    expect(resolve(nad83Albers)).toBe(5070);
    // Parameters under their false-origin names, as some writers spell them
    const falseOrigin: GeoKeys = { ...nad83Albers };
    for (const [from, to] of [
      ["ProjNatOriginLongGeoKey", "ProjFalseOriginLongGeoKey"],
      ["ProjNatOriginLatGeoKey", "ProjFalseOriginLatGeoKey"],
      ["ProjFalseEastingGeoKey", "ProjFalseOriginEastingGeoKey"],
      ["ProjFalseNorthingGeoKey", "ProjFalseOriginNorthingGeoKey"],
    ] as const) {
      falseOrigin[to] = falseOrigin[from];
      delete falseOrigin[from];
    }
    expect(resolve(falseOrigin)).toBe(5070);
  });

  it("keeps a southern L30 tile written in the northern zone with a negative northing", () => {
    // ULY -1099980 in EPSG:32635 is about 10 degrees south; nothing may assume a positive northing.
    expect(resolve({ ...hlsUtm15N, ProjectionGeoKey: 16035 })).toBe(32635);
    const [lon, lat] = transform(32635, 4326).forward([499980, -1099980]);
    expect(lat).toBeCloseTo(-9.95, 1);
    expect(lon).toBeCloseTo(27, 1);
    const [x, y] = transform(32735, 32635).forward([499980, 10_000_000 - 1099980]);
    expect(x).toBeCloseTo(499980, 3);
    expect(y).toBeCloseTo(-1099980, 3);
  });

  it("refuses a Lambert conformal file, naming its keys", () => {
    const lcc: GeoKeys = {
      GTModelTypeGeoKey: 1,
      GeographicTypeGeoKey: 4269,
      ProjectedCSTypeGeoKey: 32767,
      ProjectionGeoKey: 32767,
      ProjCoordTransGeoKey: 8,
      ProjStdParallel1GeoKey: 33,
      ProjStdParallel2GeoKey: 45,
      ProjFalseOriginLongGeoKey: -96,
      ProjFalseOriginLatGeoKey: 23,
    };
    expect(() => resolve(lcc)).toThrow(UnsupportedCrsError);
    expect(() => resolve(lcc)).toThrow(
      /s3:\/\/b\/file\.tif: .*ProjCoordTransGeoKey=8 \(LambertConfConic_2SP\)/,
    );
    expect(() => resolve(lcc)).toThrow(/ProjStdParallel1GeoKey=33/);
  });

  it("refuses a geographic file and a file with no keys", () => {
    const geographic = { GTModelTypeGeoKey: 2, GeographicTypeGeoKey: 4326, GeogCitationGeoKey: "WGS 84" };
    expect(() => resolve(geographic)).toThrow(/geographic .*GeographicTypeGeoKey=4326/);
    expect(() => resolve(null)).toThrow(/no georeferencing \(no GeoKeys\)/);
  });

  it("refuses an Albers with other parameters, on another datum, or with a datum shift", () => {
    expect(() => resolve({ ...nad83Albers, ProjNatOriginLatGeoKey: 40 })).toThrow(
      /ProjNatOriginLatGeoKey=40/,
    );
    expect(() => resolve({ ...nad83Albers, ProjStdParallel1GeoKey: 20 })).toThrow(UnsupportedCrsError);
    expect(() => resolve({ ...nad83Albers, GeographicTypeGeoKey: 4326 })).toThrow(UnsupportedCrsError);
    expect(() => resolve({ ...cropScapeAlbers, GeogTOWGS84GeoKey: { 0: 1, 1: 0, 2: 0 } })).toThrow(
      UnsupportedCrsError,
    );
    expect(() => resolve({ ...nad83Albers, ProjLinearUnitsGeoKey: 9002 })).toThrow(UnsupportedCrsError);
  });

  it("refuses other codes and UTM-like parameters that are not a zone", () => {
    expect(() => resolve({ GTModelTypeGeoKey: 1, ProjectedCSTypeGeoKey: 26915 })).toThrow(
      /EPSG:26915 is not a supported CRS/,
    );
    expect(() => resolve(transverseMercator(-92, 0))).toThrow(UnsupportedCrsError);
    expect(() => resolve({ ...transverseMercator(-93, 0), ProjScaleAtNatOriginGeoKey: 0.9999 })).toThrow(
      UnsupportedCrsError,
    );
    expect(() => resolve({ ...transverseMercator(-93, 5_000_000) })).toThrow(UnsupportedCrsError);
    // UTM zone code on a non-WGS 84 ellipsoid (Clarke 1866)
    expect(() =>
      resolve({ ...hlsUtm15N, GeogEllipsoidGeoKey: 7008, GeogInvFlatteningGeoKey: 294.98 }),
    ).toThrow(UnsupportedCrsError);
  });
});
