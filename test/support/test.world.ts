import { createHash } from "node:crypto";
import { CopyObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Config } from "../../lib/config/config.schema.ts";
import type { S3Location } from "../../lib/core/s3.url.ts";
import { listAll } from "../../lib/storage/s3.objects.ts";
import { worldManifestKey } from "../../scripts/synth/world.manifest.ts";
import type { WorldPlan } from "../../scripts/synth/world.plan.ts";
import { writeWorld } from "../../scripts/synth/world.writer.ts";

/** Where the run's first writer of a plan keeps it: beside the test prefixes, in the same buckets. */
function cacheOf(location: S3Location, digest: string): S3Location {
  return { ...location, prefix: `test-worlds/${digest}/` };
}

/** Copies every object under `from` to `to`, server-side. */
async function copyTree(s3: S3Client, from: S3Location, to: S3Location): Promise<void> {
  const keys = await listAll(s3, from.bucket, from.prefix);
  const copyOne = (key: string) =>
    s3.send(
      new CopyObjectCommand({
        Bucket: to.bucket,
        Key: `${to.prefix}${key.slice(from.prefix.length)}`,
        CopySource: `${from.bucket}/${key}`,
      }),
    );
  for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map(copyOne));
}

/**
 * A synthetic world written for a test, as `writeWorld` would write it to the config's locations;
 * rendered once per plan in a test run (about 15 s for Rhode Island at small scale) and copied
 * server-side for every later file that asks for the same plan, with the label file's location
 * that its manifest names rewritten. A file that changes its world's objects changes its copy only.
 */
export async function writeTestWorld(plan: WorldPlan, deps: { s3: S3Client; config: Config }): Promise<void> {
  const { hls, cdl } = deps.config.storage;
  const digest = createHash("sha256").update(JSON.stringify(plan)).digest("hex").slice(0, 16);
  const cached = { hls: cacheOf(hls, digest), cdl: cacheOf(cdl, digest) };
  const manifest = worldManifestKey(plan.postal, plan.input.year);
  const present = await listAll(deps.s3, cached.hls.bucket, `${cached.hls.prefix}${manifest}`);
  if (!present.includes(`${cached.hls.prefix}${manifest}`)) {
    const storage = { ...deps.config.storage, hls: cached.hls, cdl: cached.cdl };
    await writeWorld(plan, { s3: deps.s3, config: { ...deps.config, storage } });
  }
  await copyTree(deps.s3, cached.hls, hls);
  await copyTree(deps.s3, cached.cdl, cdl);
  // The world's manifest is the one object that names a location (world.writer.ts): the label file's.
  const url = (l: S3Location) => `s3://${l.bucket}/${l.prefix}`;
  const got = await deps.s3.send(
    new GetObjectCommand({ Bucket: hls.bucket, Key: `${hls.prefix}${manifest}` }),
  );
  const text = ((await got.Body?.transformToString()) ?? "").replaceAll(url(cached.cdl), url(cdl));
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: hls.bucket,
      Key: `${hls.prefix}${manifest}`,
      Body: text,
      ContentType: got.ContentType,
    }),
  );
}
