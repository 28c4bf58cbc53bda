import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { z } from "zod";
import { BuildIdParser } from "../../lib/config/config.schema.ts";
import { ensureLocalBase } from "./base.image.ts";
import { imageExists, imageSize, runStreamed } from "./docker.cli.ts";

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * The build id of this checkout: the package version and the commit, and where files differ from
 * it `-dirty.` and a hash of the differences (so an edit gets images of its own, not a stale
 * build's). The images are tagged with it and a chart's workers declare it as their Worker
 * Deployment build (CROP_MAP_WORKER_BUILD_ID): one build, one version.
 */
export async function checkoutBuildId(): Promise<string> {
  const { version } = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as {
    version: string;
  };
  const git = (args: string[]) =>
    run("git", ["-C", repoRoot, ...args], { maxBuffer: 256 << 20 }).then((r) => r.stdout);
  let commit: string;
  try {
    commit = (await git(["rev-parse", "--short=7", "HEAD"])).trim();
  } catch {
    return version;
  }
  const hash = createHash("sha256").update(await git(["diff", "HEAD", "--binary"]));
  const untracked = (await git(["ls-files", "--others", "--exclude-standard", "-z"]))
    .split("\0")
    .filter(Boolean);
  for (const file of untracked) hash.update(file).update(await readFile(join(repoRoot, file)));
  const dirty = untracked.length > 0 || (await git(["status", "--porcelain", "--untracked-files=no"])) !== "";
  return `${version}-${commit}${dirty ? `-dirty.${hash.digest("hex").slice(0, 8)}` : ""}`;
}

/** A build id that is also a Docker tag (which has no '+' and at most 128 characters). */
export const ImageTagParser = BuildIdParser.regex(
  /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/,
  "a Docker tag: letters, digits, '_', '.' and '-', at most 128",
);

export interface WorkerImages {
  cpu: string;
  inference: string;
}

/**
 * The local images of a build. The inference image is gpu.Dockerfile built with the CPU base in
 * place of the CUDA one (and no CUDA provider download): every step of that file but those two.
 */
export function workerImages(buildId: string): WorkerImages {
  return { cpu: `crop-map-cpu:${buildId}`, inference: `crop-map-inference-cpu:${buildId}` };
}

interface ImageBuild {
  tag: string;
  dockerfile: string;
  args: Record<string, string>;
}

function imageBuilds(images: WorkerImages, base: string): ImageBuild[] {
  return [
    { tag: images.cpu, dockerfile: "infra/docker/cpu.Dockerfile", args: { NODE_IMAGE: base } },
    {
      tag: images.inference,
      dockerfile: "infra/docker/gpu.Dockerfile",
      args: { NODE_IMAGE: base, CUDA_IMAGE: base, ORT_INSTALL: "skip" },
    },
  ];
}

/** BuildKit where the buildx plugin is there (its built-in frontend: the files name none), else the classic builder. */
async function builderEnv(): Promise<NodeJS.ProcessEnv> {
  if (process.env.DOCKER_BUILDKIT) return process.env;
  try {
    await run("docker", ["buildx", "version"]);
    return { ...process.env, DOCKER_BUILDKIT: "1" };
  } catch {
    return { ...process.env, DOCKER_BUILDKIT: "0" };
  }
}

export interface BuiltImage {
  tag: string;
  dockerfile: string;
  sizeBytes: number;
}

/**
 * Builds both worker images from the repository's Dockerfiles on `base`, with host networking
 * (npm's registry is the one thing the builds fetch). Layers are cached by the daemon, so a
 * rebuild of an unchanged checkout is quick.
 */
export async function buildWorkerImages(
  base: string,
  buildId: string,
  log: (line: string) => void,
): Promise<BuiltImage[]> {
  const env = await builderEnv();
  const built: BuiltImage[] = [];
  for (const build of imageBuilds(workerImages(buildId), base)) {
    log(`building ${build.tag} from ${build.dockerfile} on ${base} ...`);
    const buildArgs = Object.entries(build.args).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
    await runStreamed(
      "docker",
      ["build", "--network", "host", "-f", build.dockerfile, "-t", build.tag, ...buildArgs, "."],
      log,
      { env, cwd: repoRoot },
    );
    built.push({ tag: build.tag, dockerfile: build.dockerfile, sizeBytes: await imageSize(build.tag) });
  }
  return built;
}

/** A Docker image reference as `--base` takes it (a name that cannot be read as an option). */
export const ImageRefParser = z
  .string()
  .max(255)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/, "an image reference such as debian:trixie or registry/name:tag");

/**
 * The images of `buildId`: built unless both are already there. Without a base, the local one
 * (made when missing).
 */
export async function ensureWorkerImages(
  buildId: string,
  log: (line: string) => void,
  base?: string,
): Promise<WorkerImages> {
  const images = workerImages(buildId);
  if ((await imageExists(images.cpu)) && (await imageExists(images.inference))) return images;
  await buildWorkerImages(base ?? (await ensureLocalBase(log)), buildId, log);
  return images;
}
