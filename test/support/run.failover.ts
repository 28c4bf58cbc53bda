import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import type { Config } from "../../lib/config/config.schema.ts";
import { getBytes, ref } from "../../lib/storage/s3.objects.ts";

/**
 * Until inference is part-way through a tile: a checkpoint object under the work location (the
 * moment a failover test kills its inference worker). False when none came in `timeoutMs`.
 */
export async function waitForCheckpoint(s3: S3Client, config: Config, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: config.storage.work.bucket, Prefix: config.storage.work.prefix }),
    );
    if ((listed.Contents ?? []).some((o) => o.Key?.endsWith(".checkpoint"))) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** The tile maps of two runs that differ, as `tileId name` (none: every classes and confidence COG byte-identical). */
export async function differingMaps(
  s3: S3Client,
  config: Config,
  runs: [string, string],
  tiles: string[],
): Promise<string[]> {
  const bytes = async (runId: string, tileId: string, name: string) =>
    Buffer.from(await getBytes(s3, ref(config.storage.outputs, `runs/${runId}/tiles/${tileId}/${name}`)));
  const differing: string[] = [];
  for (const tileId of tiles)
    for (const name of ["classes.tif", "confidence.tif"])
      if (!(await bytes(runs[0], tileId, name)).equals(await bytes(runs[1], tileId, name)))
        differing.push(`${tileId} ${name}`);
  return differing;
}
