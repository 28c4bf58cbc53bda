import { z } from "zod";
import { findState, type UsState } from "../region/us.states.ts";
import type { CdlSource } from "./cdl.source.ts";

/** The first year of the national CDL. */
export const FirstCdlYear = 2008;

const SourceParser = z.string().transform((text, ctx): CdlSource => {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (text.trim() === "")
      ctx.addIssue({ code: "custom", message: "expected a file, s3://bucket/key or URL" });
    return { kind: "file", path: text };
  }
  if (scheme === "http" || scheme === "https") return { kind: "http", url: text };
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(text);
  if (scheme === "s3" && s3) return { kind: "s3", bucket: s3[1] as string, key: s3[2] as string };
  ctx.addIssue({ code: "custom", message: "expected a file, s3://bucket/key or an http(s):// URL" });
  return z.NEVER;
});

const StateParser = z.string().transform((query, ctx): UsState => {
  const state = findState(query);
  if (!state) {
    ctx.addIssue({ code: "custom", message: "unknown state: use a postal code (IA) or a name (Iowa)" });
    return z.NEVER;
  }
  return state;
});

export const CdlImportInputParser = z
  .object({
    source: SourceParser,
    /** A CDL year comes out early the next year, so the current year has none yet. */
    year: z
      .string()
      .regex(/^\d{4}$/, "expected a year such as 2022")
      .transform(Number)
      .pipe(
        z
          .number()
          .min(FirstCdlYear, `the national CDL starts in ${FirstCdlYear}`)
          .refine((y) => y < new Date().getUTCFullYear(), {
            message: "has no CDL yet (a year's CDL is published early the next year)",
          }),
      ),
    /** States to write; none: every state the raster labels. */
    state: z.array(StateParser).optional(),
  })
  .strict();
export type CdlImportInput = z.output<typeof CdlImportInputParser>;
