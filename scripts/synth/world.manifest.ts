import { z } from "zod";
import { SynthInputParser } from "./world.spec.ts";

export const GranuleRecordParser = z
  .object({
    id: z.string(),
    cloudCover: z.number(),
    spatialCoverage: z.number(),
  })
  .strict();
export type GranuleRecord = z.infer<typeof GranuleRecordParser>;

/** What a synthetic world holds; written last, so its presence means the world is complete. */
export const WorldManifestParser = z
  .object({
    kind: z.literal("crop-map synthetic world"),
    version: z.literal(1),
    input: SynthInputParser,
    state: z.object({ postal: z.string(), fips: z.string(), name: z.string() }).strict(),
    cdl: z
      .object({
        url: z.string(),
        origin: z.tuple([z.number(), z.number()]),
        width: z.number().int(),
        height: z.number().int(),
        pixelSize: z.number(),
      })
      .strict(),
    tiles: z.array(
      z
        .object({
          tileId: z.string(),
          epsg: z.number().int(),
          origin: z.tuple([z.number(), z.number()]),
          width: z.number().int(),
          height: z.number().int(),
          offset: z.tuple([z.number().int(), z.number().int()]),
          granules: z.array(GranuleRecordParser),
        })
        .strict(),
    ),
    objects: z.number().int(),
    bytes: z.number().int(),
    createdAt: z.string(),
  })
  .strict();
export type WorldManifest = z.infer<typeof WorldManifestParser>;

/** Where a world's manifest lives, under the HLS archive location. */
export function worldManifestKey(postal: string, year: number): string {
  return `_synthetic/${year}/${postal}.json`;
}
