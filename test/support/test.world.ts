import { createHash } from "node:crypto";
import { CopyObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Config } from "../../lib/config/config.schema.ts";
import type { S3Location } from "../../lib/core/s3.url.ts";
import { listAll } from "../../lib/storage/s3.objects.ts";
import { worldManifestKey } from "../../scripts/synth/world.manifest.ts";
import type { WorldPlan } from "../../scripts/synth/world.plan.ts";
import { writeWorld } from "../../scripts/synth/world.writer.ts";

/** Objects whose bytes name their own location (manifests, catalogue records): rewritten when copied. */
const TextObject = /\.(json|xml|txt|pending)$/;

/** Where the run's first writer of a plan keeps it: beside the test prefixes, in the same buckets. */
function cacheOf(location: S3Location, digest: string): S3Location {
  return { ...location, prefix: `test-worlds/${digest}/` };
}

/** Copies every object under `from` to `to`; text objects with each `renames` pair's URL replaced. */
async function copyTree(
  s3: S3Client,
  from: S3Location,
  to: S3Location,
  renames: [S3Location, S3Location][],
): Promise<void> {
  const url = (l: S3Location) => `s3://${l.bucket}/${l.prefix}`;
  const keys = await listAll(s3, from.bucket, from.prefix);
  const copyOne = async (key: string) => {
    const target = `${to.prefix}${key.slice(from.prefix.length)}`;
    if (!TextObject.test(key)) {
      await s3.send(
        new CopyObjectCommand({ Bucket: to.bucket, Key: target, CopySource: `${from.bucket}/${key}` }),
      );
      return;
    }
    const got = await s3.send(new GetObjectCommand({ Bucket: from.bucket, Key: key }));
    let text = (await got.Body?.transformToString()) ?? "";
    for (const [a, b] of renames) text = text.replaceAll(url(a), url(b));
    await s3.send(
      new PutObjectCommand({
        Bucket: to.bucket,
        Key: target,
        Body: text,
        ContentType: got.ContentType,
      }),
    );
  };
  for (let i = 0; i < keys.length; i += 16) await Promise.all(keys.slice(i, i + 16).map(copyOne));
}

/**
 * A synthetic world written for a test, as `writeWorld` would write it to the config's locations;
 * rendered once per plan in a test run (about 15 s for Rhode Island at small scale) and copied
 * server-side for every later file that asks for the same plan, with the locations that its manifest
 * names rewritten. A file that changes its world's objects changes its copy only.
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
  const renames: [S3Location, S3Location][] = [
    [cached.hls, hls],
    [cached.cdl, cdl],
  ];
  await copyTree(deps.s3, cached.hls, hls, renames);
  await copyTree(deps.s3, cached.cdl, cdl, renames);
}
