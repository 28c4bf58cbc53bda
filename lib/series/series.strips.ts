import type { S3Client } from "@aws-sdk/client-s3";
import type { SeriesIndex } from "../contracts/series.index.ts";
import type { S3Location } from "../core/s3.url.ts";
import { readChunkRow, readStackHeader } from "../pipeline/stack.reader.ts";
import { ref } from "../storage/s3.objects.ts";
import type { SeriesDate } from "./series.input.ts";

/** Every staged date of a series with its stack header, no chunk rows loaded yet. */
export function openSeriesDates(
  s3: S3Client,
  work: S3Location,
  staged: SeriesIndex["dates"],
): Promise<SeriesDate[]> {
  return Promise.all(
    staged.map(async (d) => ({
      header: await readStackHeader(s3, ref(work, d.key)),
      doy: d.doy,
      rows: new Map(),
    })),
  );
}

/**
 * Holds chunk row `cy` and `halo` rows either side of it on every date, reading the ones not held
 * and dropping those above: walking the rows down, each is read once and at most 2 x halo + 1 are
 * held per date.
 */
export async function holdChunkRows(
  s3: S3Client,
  work: S3Location,
  staged: SeriesIndex["dates"],
  dates: SeriesDate[],
  cy: number,
  halo: number,
): Promise<void> {
  const first = (dates[0] as SeriesDate).header;
  const lo = Math.max(0, cy - halo);
  const hi = Math.min(first.chunksDown - 1, cy + halo);
  await Promise.all(
    dates.map(async (date, t) => {
      for (const r of [...date.rows.keys()]) if (r < lo) date.rows.delete(r);
      for (let r = lo; r <= hi; r++)
        if (!date.rows.has(r))
          date.rows.set(
            r,
            await readChunkRow(
              s3,
              ref(work, (staged[t] as SeriesIndex["dates"][number]).key),
              date.header,
              r,
            ),
          );
    }),
  );
}
