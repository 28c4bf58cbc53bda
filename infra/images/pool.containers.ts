import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import type { Config } from "../../lib/config/config.schema.ts";
import { formatS3Url } from "../../lib/core/s3.url.ts";
import { loadModelManifest, onnxLocation } from "../../lib/model/model.manifest.ts";
import { putFile, ref } from "../../lib/storage/s3.objects.ts";
import { isListening } from "../dev/ports.ts";
import { configEnv } from "./config.env.ts";
import { docker } from "./docker.cli.ts";
import type { WorkerImages } from "./images.build.ts";

export type ContainerPool = "cpu" | "inference";

export interface PoolContainer {
  name: string;
  pool: ContainerPool;
  image: string;
  metricsPort: number;
}

export interface PoolContainersSpec {
  /** Names of this set's containers start with it, and they carry it as a label: found and removed together. */
  prefix: string;
  images: WorkerImages;
  /** Servers, buckets and queues the workers use (loopback addresses: the containers share the host's network). */
  config: Config;
  cpuReplicas: number;
  inferenceReplicas: number;
  /** Each container's metrics port (host networking: one port each), in `poolContainers` order. */
  metricsPorts: number[];
  /** Host folder of model manifests (`publishModels`), mounted over the image's, as the chart's ConfigMap is. */
  manifestsDir: string;
  /** Models the inference pool fetches and checks before it polls. */
  preload: string[];
  /** More environment for every container (a test's slowed inference). */
  env?: Record<string, string>;
}

const ClusterLabel = "crop-map.cluster";

/**
 * Uploads each model's ONNX file to the work location (models/<name>.onnx) and writes its
 * manifest, pointing there, into `manifestsDir`: the containers fetch the weights from S3 and
 * check their sha256 at start, as they do on a cluster, rather than using a baked-in file.
 */
export async function publishModels(
  s3: S3Client,
  config: Config,
  names: string[],
  manifestsDir: string,
): Promise<void> {
  await mkdir(manifestsDir, { recursive: true });
  for (const name of names) {
    const manifest = await loadModelManifest(name);
    const object = ref(config.storage.work, `models/${name}.onnx`);
    await putFile(s3, object, onnxLocation(manifest), "application/octet-stream");
    const onnx = formatS3Url(config.storage.work, `models/${name}.onnx`);
    await writeFile(
      join(manifestsDir, `${name}.json`),
      `${JSON.stringify({ ...manifest, onnx }, null, 2)}\n`,
      {
        mode: 0o644,
      },
    );
  }
}

function containerEnv(
  spec: PoolContainersSpec,
  pool: ContainerPool,
  metricsPort: number,
): Record<string, string> {
  return {
    ...configEnv(spec.config),
    CROP_MAP_METRICS_PORT: String(metricsPort),
    // The inference image is the GPU file's; built on the CPU base, it has only the CPU provider.
    ...(pool === "inference"
      ? { CROP_MAP_INFERENCE_DEVICE: "cpu", CROP_MAP_PRELOAD_MODELS: spec.preload.join(",") }
      : {}),
    ...spec.env,
  };
}

/** The containers a spec describes, in order: CPU replicas, then inference replicas. */
export function poolContainers(spec: PoolContainersSpec): PoolContainer[] {
  if (spec.metricsPorts.length !== spec.cpuReplicas + spec.inferenceReplicas)
    throw new Error(
      `${spec.metricsPorts.length} metrics ports for ${spec.cpuReplicas + spec.inferenceReplicas} containers`,
    );
  const pools: ContainerPool[] = [
    ...Array<ContainerPool>(spec.cpuReplicas).fill("cpu"),
    ...Array<ContainerPool>(spec.inferenceReplicas).fill("inference"),
  ];
  const count = { cpu: 0, inference: 0 };
  return pools.map((pool, i) => ({
    name: `${spec.prefix}-${pool}-${++count[pool]}`,
    pool,
    image: spec.images[pool],
    metricsPort: spec.metricsPorts[i] as number,
  }));
}

/**
 * Starts the pools as containers the way the chart runs them: the image's own entry point and
 * user, host networking (the servers are on loopback), a read-only root with a /tmp of its own,
 * no capabilities, the model manifests mounted read-only. Waits until every worker polls.
 */
export async function startPoolContainers(spec: PoolContainersSpec): Promise<PoolContainer[]> {
  await removePoolContainers(spec.prefix);
  const containers = poolContainers(spec);
  for (const c of containers)
    if (await isListening(c.metricsPort))
      throw new Error(`metrics port ${c.metricsPort} of ${c.name} is taken by another process`);
  for (const c of containers) {
    const env = Object.entries(containerEnv(spec, c.pool, c.metricsPort)).flatMap(([k, v]) => [
      "-e",
      `${k}=${v}`,
    ]);
    const mounts = spec.preload.flatMap((model) => [
      "-v",
      `${join(spec.manifestsDir, `${model}.json`)}:/app/models/${model}.json:ro`,
    ]);
    await docker([
      "run",
      "--detach",
      "--name",
      c.name,
      "--label",
      `${ClusterLabel}=${spec.prefix}`,
      "--network",
      "host",
      "--read-only",
      "--tmpfs",
      "/tmp",
      "--cap-drop",
      "ALL",
      "--security-opt",
      "no-new-privileges",
      ...env,
      ...mounts,
      c.image,
      "--pool",
      c.pool,
    ]);
  }
  await Promise.all(containers.map((c) => waitPolling(c)));
  return containers;
}

/**
 * Until the container's worker, in its current start, has begun polling (the line printed after
 * its models are fetched and checked) and serves metrics. A container that stops first is an error
 * with its last lines.
 */
export async function waitPolling(container: PoolContainer, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [state = "", startedAt = ""] = (
      await docker(["inspect", "--format", "{{.State.Status}} {{.State.StartedAt}}", container.name])
    ).split(" ");
    const logs = await containerLogs(container.name, startedAt);
    if (state !== "running")
      throw new Error(
        `container ${container.name} is ${state} before polling:\n${logs.split("\n").slice(-10).join("\n")}`,
      );
    if (logs.includes("crop-map worker: pool") && (await isListening(container.metricsPort))) return;
    if (Date.now() > deadline)
      throw new Error(`container ${container.name} did not start polling in ${timeoutMs / 1000} s:\n${logs}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** stdout and stderr of a container together, since a time (RFC 3339) or of all its starts; "" when it is gone. */
export function containerLogs(name: string, since?: string): Promise<string> {
  const args = ["logs", ...(since ? ["--since", since] : []), name];
  return new Promise((resolve) =>
    execFile("docker", args, { maxBuffer: 16 << 20 }, (_error, stdout, stderr) =>
      resolve(`${stdout}${stderr}`),
    ),
  );
}

/** The names of the containers, running or not, that carry this set's label. */
export async function listPoolContainers(prefix: string): Promise<string[]> {
  const out = await docker([
    "ps",
    "--all",
    "--filter",
    `label=${ClusterLabel}=${prefix}`,
    "--format",
    "{{.Names}}",
  ]);
  return out.split("\n").filter(Boolean);
}

/** Removes this set's containers at once (killed: their activities are retried elsewhere). */
export async function removePoolContainers(prefix: string): Promise<string[]> {
  const names = await listPoolContainers(prefix);
  if (names.length > 0) await docker(["rm", "--force", ...names]);
  return names;
}

/**
 * Stops this set's containers as Kubernetes stops a pod (SIGTERM: running activities finish or
 * are handed back within the workers' grace period, then SIGKILL), and removes them.
 */
export async function stopPoolContainers(prefix: string, graceSeconds = 30): Promise<string[]> {
  const names = await listPoolContainers(prefix);
  if (names.length === 0) return names;
  await docker(["stop", "--time", String(graceSeconds), ...names]);
  await docker(["rm", ...names]);
  return names;
}
