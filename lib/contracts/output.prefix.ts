import { z } from "zod";
import { unsafeKeyReason } from "../core/s3.url.ts";

/** A run's output folder, relative to the outputs location: never able to climb out of it. */
export const OutputPrefixParser = z
  .string()
  .min(1)
  .superRefine((prefix, ctx) => {
    const reason = unsafeKeyReason(prefix);
    if (reason) ctx.addIssue({ code: "custom", message: reason });
    else if (!prefix.endsWith("/")) ctx.addIssue({ code: "custom", message: "must end in '/'" });
  });
