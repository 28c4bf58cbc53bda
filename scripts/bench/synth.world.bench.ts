/**
 * `crop-map synth` end to end, as a person runs it, on a stack of its own (free ports): the world
 * written with every core against a reference written in this same command, either with one task
 * thread or by an older checkout's CLI (`--reference <dir>`), then every object's ETag (MD5)
 * compared between the two, so a speed-up that changed a byte is caught.
 *
 * Load on a shared machine drifts over minutes, so the one run first can be either (`--first`).
 *
 *   npx tsx scripts/bench/synth.world.bench.ts [--scale full|small] [--reference /work/main]
 *     [--first reference|this]
 */
import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { DefaultThreads } from "../../lib/threads/task.pool.ts";
import { startBenchStack } from "./bench.stack.ts";

const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "full" },
    reference: { type: "string" },
    state: { type: "string", default: "RI" },
    first: { type: "string", default: "reference" },
  },
});
if (values.first !== "reference" && values.first !== "this")
  throw new Error(`--first must be 'reference' or 'this', not '${values.first}'`);
const here = join(import.meta.dirname, "..", "..");

interface Variant {
  label: string;
  checkout: string;
  args: string[];
}
const variants: Variant[] = [
  values.reference
    ? { label: `reference: ${values.reference}`, checkout: values.reference, args: [] }
    : { label: "reference: --threads 1", checkout: here, args: ["--threads", "1"] },
  { label: `this checkout, ${DefaultThreads} threads`, checkout: here, args: [] },
];
const order = values.first === "this" ? [...variants].reverse() : variants;

async function etags(s3: S3Client, bucket: string, prefix: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) found.set((o.Key as string).slice(prefix.length), o.ETag ?? "");
    token = page.NextContinuationToken;
  } while (token);
  return found;
}

function synth(variant: Variant, env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  const args = [
    "synth",
    "--state",
    values.state as string,
    "--year",
    "2022",
    "--scale",
    values.scale as string,
  ];
  const child = spawn(
    "node",
    [join(variant.checkout, "bin", "crop-map.js"), ...args, "--seed", "7", ...variant.args],
    {
      env,
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve((performance.now() - started) / 1000)
        : reject(new Error(`${variant.label}: exit ${code}`)),
    );
  });
}

const { config, s3, stop } = await startBenchStack();
try {
  const results: { variant: Variant; seconds: number; load: number[]; objects: Map<string, string> }[] = [];
  for (const variant of order) {
    const k = variants.indexOf(variant);
    const hls = { bucket: config.storage.hls.bucket, prefix: `bench-${k}/` };
    const cdl = { bucket: config.storage.cdl.bucket, prefix: `bench-${k}/` };
    // The 1-minute load average as each run starts and ends: how shared the machine was.
    const load = [loadavg()[0] as number];
    const seconds = await synth(variant, {
      ...process.env,
      CROP_MAP_S3_ENDPOINT: config.s3.endpoint,
      CROP_MAP_HLS_URL: `s3://${hls.bucket}/${hls.prefix}`,
      CROP_MAP_CDL_URL: `s3://${cdl.bucket}/${cdl.prefix}`,
    });
    const objects = new Map([
      ...[...(await etags(s3, hls.bucket, hls.prefix))].map(([key, tag]) => [`hls/${key}`, tag] as const),
      ...[...(await etags(s3, cdl.bucket, cdl.prefix))].map(([key, tag]) => [`cdl/${key}`, tag] as const),
    ]);
    load.push(loadavg()[0] as number);
    results[k] = { variant, seconds, load, objects };
  }
  const [reference, ours] = results as [(typeof results)[0], (typeof results)[0]];
  // The world's manifest records when it was made and where: the one object allowed to differ.
  const differing = [...reference.objects].filter(
    ([key, tag]) => !key.includes("_synthetic/") && ours.objects.get(key) !== tag,
  );
  console.log(
    `crop-map synth --state ${values.state} --scale ${values.scale} --seed 7, ${ours.objects.size} objects`,
  );
  for (const variant of order) {
    const { seconds, load } = results[variants.indexOf(variant)] as (typeof results)[0];
    console.log(
      `  ${variant.label.padEnd(40)} ${seconds.toFixed(1)} s (load average ${load.map((l) => l.toFixed(1)).join(" to ")})`,
    );
  }
  console.log(`  speed-up over the reference              ${(reference.seconds / ours.seconds).toFixed(2)}x`);
  console.log(
    `  objects differing from the reference     ${differing.length} of ${reference.objects.size}` +
      (ours.objects.size === reference.objects.size ? "" : ` (object counts differ: ${ours.objects.size})`),
  );
  if (differing.length > 0 || ours.objects.size !== reference.objects.size) process.exitCode = 1;
} finally {
  await stop();
}
