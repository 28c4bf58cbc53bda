import { z } from "zod";

/** A place to map, as a user names it; small enough to travel in a workflow input. */
export const RegionSpecParser = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("state"), state: z.string().min(1) }).strict(),
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
      name: z.string().min(1),
      /** Polygons of rings of [lon, lat], outer ring first (GeoJSON MultiPolygon coordinates). */
      coordinates: z.array(z.array(z.array(z.tuple([z.number(), z.number()])).min(4)).min(1)).min(1),
    })
    .strict(),
  z
    .object({
      kind: z.literal("states"),
      /** What the user called it (`conus`, `TX,OK`): the run's name for the region. */
      name: z.string().min(1),
      /** States by postal code or name; the region is their union. */
      states: z.array(z.string().min(1)).min(1),
    })
    .strict(),
]);
export type RegionSpec = z.infer<typeof RegionSpecParser>;
