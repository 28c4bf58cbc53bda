import { z } from "zod";

/**
 * Vertices a polygon region may hold. A region travels in the run workflow's input, which
 * Temporal refuses past 2 MB: 20,000 vertices are about 0.8 MB of JSON at full precision (a
 * 100,000-vertex polygon was 3.9 MB), while a state's outline needs a few thousand.
 */
export const MaxRegionVertices = 20_000;

/** Vertices of a polygon region's coordinates, all rings of all polygons. */
export function vertexCount(coordinates: readonly (readonly (readonly unknown[])[])[]): number {
  let n = 0;
  for (const polygon of coordinates) for (const ring of polygon) n += ring.length;
  return n;
}

/** The cap's refusal, the same wherever a region comes from. */
export function verticesPastCap(count: number): string {
  return `${count} vertices, past the cap of ${MaxRegionVertices} (a run's input must stay well under Temporal's 2 MB payload limit)`;
}

/** A place to map, as a user names it; small enough to travel in a workflow input. */
export const RegionSpecParser = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("state"), state: z.string().min(1).max(64) }).strict(),
  z
    .object({
      kind: z.literal("bbox"),
      /** [west, south, east, north] in degrees (WGS 84). */
      bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]),
    })
    .strict(),
  z
    .object({
      kind: z.literal("polygon"),
      name: z.string().min(1).max(200),
      /** Polygons of rings of [lon, lat], outer ring first (GeoJSON MultiPolygon coordinates). */
      coordinates: z
        .array(z.array(z.array(z.tuple([z.number(), z.number()])).min(4)).min(1))
        .min(1)
        .superRefine((coordinates, ctx) => {
          const count = vertexCount(coordinates);
          if (count > MaxRegionVertices) ctx.addIssue({ code: "custom", message: verticesPastCap(count) });
        }),
    })
    .strict(),
  z
    .object({
      kind: z.literal("states"),
      /** What the user called it (`conus`, `TX,OK`): the run's name for the region. */
      name: z.string().min(1).max(200),
      /** States by postal code or name; the region is their union. */
      states: z.array(z.string().min(1).max(64)).min(1).max(60),
    })
    .strict(),
]);
export type RegionSpec = z.infer<typeof RegionSpecParser>;
