import { XMLParser, XMLValidator } from "fast-xml-parser";
import { z } from "zod";

/**
 * `<granule>.cmr.xml`, the ECHO 10 granule record LP DAAC keeps beside the band COGs in
 * lp-prod-protected: the granule's id, acquisition time, footprint and its HLS attributes
 * (CLOUD_COVERAGE, SPATIAL_COVERAGE, MGRS_TILE_ID, ...) as name / values pairs. Some files have no
 * XML declaration; L30 attributes of two merged scenes hold two values.
 */
export interface CmrGranule {
  granuleUr: string;
  beginning: string;
  /** Every AdditionalAttribute by name, each with all its values as written. */
  attributes: Record<string, string[]>;
  /** Footprint as [lon, lat] points, when the record has a GPolygon. */
  footprint: [number, number][];
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => ["AdditionalAttribute", "Value", "Point", "GPolygon"].includes(name),
});

const text = z.union([z.string(), z.number()]).transform(String);

const RecordParser = z.object({
  Granule: z.object({
    GranuleUR: text,
    Temporal: z.object({ RangeDateTime: z.object({ BeginningDateTime: text }) }),
    Spatial: z
      .object({
        HorizontalSpatialDomain: z
          .object({
            Geometry: z
              .object({
                GPolygon: z
                  .array(
                    z.object({
                      Boundary: z.object({
                        Point: z.array(z.object({ PointLongitude: text, PointLatitude: text })),
                      }),
                    }),
                  )
                  .optional(),
              })
              .optional(),
          })
          .optional(),
      })
      .optional(),
    AdditionalAttributes: z.object({
      AdditionalAttribute: z.array(z.object({ Name: text, Values: z.object({ Value: z.array(text) }) })),
    }),
  }),
});

/**
 * A record that is not XML, that the parser refuses (too deep, entity declarations, too large),
 * or that lacks what a granule record must hold: the message says which. The catalogue skips the
 * granule: retrying cannot change the file.
 */
export class CmrRecordError extends Error {
  override name = "CmrRecordError";
}

/** The largest record read: LP DAAC's are 5 to 20 kB; a 50 MB one took 8 s to parse. */
export const MaxCmrRecordBytes = 1 << 20;

export function parseCmrXml(xml: string): CmrGranule {
  const bytes = Buffer.byteLength(xml);
  if (bytes > MaxCmrRecordBytes)
    throw new CmrRecordError(`a record of ${bytes} bytes is past the ${MaxCmrRecordBytes}-byte cap`);
  // ECHO 10 records declare no entities; a DOCTYPE is where entity expansion attacks live.
  if (/<!DOCTYPE/i.test(xml)) throw new CmrRecordError("holds a DOCTYPE, which granule records never do");
  let tree: unknown;
  try {
    const valid = XMLValidator.validate(xml);
    if (valid !== true)
      throw new CmrRecordError(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
    tree = parser.parse(xml);
  } catch (error) {
    if (error instanceof CmrRecordError) throw error;
    // The parser's own limits (nesting depth, entities) throw plain errors.
    throw new CmrRecordError(`refused by the XML parser: ${(error as Error).message}`);
  }
  const parsed = RecordParser.safeParse(tree);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CmrRecordError(`not a granule record: ${issue?.path.join("/")} ${issue?.message}`);
  }
  const g = parsed.data.Granule;
  const attributes: Record<string, string[]> = {};
  for (const a of g.AdditionalAttributes.AdditionalAttribute) attributes[a.Name] = a.Values.Value;
  const points = g.Spatial?.HorizontalSpatialDomain?.Geometry?.GPolygon?.[0]?.Boundary.Point ?? [];
  return {
    granuleUr: g.GranuleUR,
    beginning: g.Temporal.RangeDateTime.BeginningDateTime,
    attributes,
    footprint: points.map((p) => [Number(p.PointLongitude), Number(p.PointLatitude)]),
  };
}

/** The facts granule choice needs, as a cmr.xml states them. */
export interface CmrGranuleFacts {
  tileId: string;
  cloudCover: number;
  spatialCoverage: number;
  sensingTime: string;
}

function percent(record: CmrGranule, name: string): number {
  const values = record.attributes[name];
  if (!values || values.length === 0) throw new CmrRecordError(`no ${name} attribute`);
  const value = Number(values[0]);
  if (values[0] === "" || !Number.isFinite(value) || value < 0 || value > 100)
    throw new CmrRecordError(`${name} '${values[0]}' is not a percentage`);
  return value;
}

/** Cloud cover, spatial coverage, tile and sensing time; throws CmrRecordError naming what is missing. */
export function cmrGranuleFacts(record: CmrGranule): CmrGranuleFacts {
  const tile = record.attributes.MGRS_TILE_ID?.[0];
  if (!tile) throw new CmrRecordError("no MGRS_TILE_ID attribute");
  return {
    // LP DAAC writes the MGRS id without the granule id's leading T (15TVG).
    tileId: tile.replace(/^T/, ""),
    cloudCover: percent(record, "CLOUD_COVERAGE"),
    spatialCoverage: percent(record, "SPATIAL_COVERAGE"),
    sensingTime: (record.attributes.SENSING_TIME ?? [record.beginning]).join("; "),
  };
}
