// The storage probe's and the label grid's activity inputs and results.
import { z } from "zod";

export const ProbeStorageInputParser = z
  .object({ location: z.enum(["hls", "cdl", "work", "outputs"]) })
  .strict();
export type ProbeStorageInput = z.infer<typeof ProbeStorageInputParser>;

export interface ProbeStorageResult {
  location: string;
  url: string;
  /** What was proven: inputs are only listed and read, the pipeline's own locations written too. */
  access: "read" | "read-write";
  /** Bytes read back (written too, for read-write). */
  bytes: number;
  roundTripMs: number;
}

export const LabelGridInputParser = z.object({ year: z.number().int() }).strict();
export type LabelGridInput = z.infer<typeof LabelGridInputParser>;
