import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { ensureGoTool } from "../../infra/dev/tools.ts";
import { loadConfig } from "../../lib/config/config.load.ts";

// `helm template` of infra/helm/crop-map, with the rendered objects checked. Helm is built from
// its Go module into the tool cache (minutes, once); without Go or the module proxy the file skips.
const run = promisify(execFile);
const chart = join(import.meta.dirname, "..", "..", "infra", "helm", "crop-map");

let helm: string | undefined;
let unavailable = "";
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crop-map-helm-"));
  try {
    helm = await ensureGoTool("helm");
  } catch (error) {
    unavailable = (error as Error).message;
    console.warn(`helm.chart.test: skipped, Helm cannot be had here: ${unavailable}`);
  }
}, 600_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Values every render starts from: Temporal Cloud by API key, S3 by a role, Earthdata by a Secret. */
const base: string[] = [
  "temporal.address=crop.a1b2c.tmprl.cloud:7233",
  "temporal.namespace=crop.a1b2c",
  "temporal.apiKeySecret.name=temporal-api-key",
  "credentials.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::123456789012:role/crop-map",
  "credentials.earthdataSecret.name=earthdata-login",
  "buildId=v7",
];

interface K8sObject {
  kind: string;
  metadata: { name: string };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are free-form
  spec?: any;
  data?: Record<string, string>;
}

async function render(sets: string[] = []): Promise<K8sObject[]> {
  const args = ["template", "t", chart, "--kube-version", "1.30.0"];
  for (const s of [...base, ...sets]) args.push("--set", s);
  const { stdout } = await run(helm as string, args, { maxBuffer: 16 * 2 ** 20 });
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

async function renderError(sets: string[]): Promise<string> {
  try {
    await render(sets);
  } catch (error) {
    return (error as { stderr?: string }).stderr ?? String(error);
  }
  throw new Error(`rendered without error: ${sets.join(" ")}`);
}

const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const container = (d: K8sObject) => d.spec.template.spec.containers[0];
const pool = (d: K8sObject) => container(d).args[1] as string;

describe("Helm chart", () => {
  it("puts GPU limits, the GPU node selector and toleration on the inference pool only", async (ctx) => {
    if (!helm) return ctx.skip(unavailable);
    const deployments = ofKind(await render(), "Deployment");
    expect(deployments.map(pool).sort()).toEqual(["cpu", "inference"]);
    for (const d of deployments) {
      const resources = JSON.stringify(container(d).resources);
      const podSpec = d.spec.template.spec;
      if (pool(d) === "inference") {
        expect(container(d).resources.limits["nvidia.com/gpu"]).toBe(1);
        expect(podSpec.nodeSelector).toEqual({ "nvidia.com/gpu.present": "true" });
        expect(podSpec.tolerations).toContainEqual(expect.objectContaining({ key: "nvidia.com/gpu" }));
        expect(container(d).image).toBe("registry.example.com/crop-map-gpu:v7");
      } else {
        expect(resources).not.toMatch(/gpu/i);
        expect(podSpec.nodeSelector).toBeUndefined();
        expect(podSpec.tolerations).toBeUndefined();
        expect(container(d).image).toBe("registry.example.com/crop-map-cpu:v7");
      }
      // Graceful shutdown longer than one batch, and the worker told to use it.
      const env = Object.fromEntries(
        container(d).env.map((e: { name: string; value?: string }) => [e.name, e.value]),
      );
      expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThan(70);
      expect(Number(env.CROP_MAP_SHUTDOWN_GRACE_SECONDS)).toBe(podSpec.terminationGracePeriodSeconds - 10);
      expect(env.CROP_MAP_WORKER_BUILD_ID).toBe("v7");
      expect(container(d).securityContext.readOnlyRootFilesystem).toBe(true);
      expect(podSpec.securityContext.runAsNonRoot).toBe(true);
    }
  });

  it("scales each pool with a KEDA Temporal ScaledObject on its own task queue", async (ctx) => {
    if (!helm) return ctx.skip(unavailable);
    const objects = await render(["pools.cpu.taskQueue=maps-cpu", "pools.inference.taskQueue=maps-gpu"]);
    const config = JSON.parse(ofKind(objects, "ConfigMap")[0]?.data?.["config.json"] ?? "{}");
    expect(config.taskQueues).toEqual({ cpu: "maps-cpu", inference: "maps-gpu" });
    const deployments = new Map(ofKind(objects, "Deployment").map((d) => [d.metadata.name, pool(d)]));
    const scaled = ofKind(objects, "ScaledObject");
    expect(scaled).toHaveLength(2);
    const byPool: Record<string, K8sObject["spec"]> = Object.fromEntries(
      scaled.map((s) => [deployments.get(s.spec.scaleTargetRef.name), s.spec]),
    );
    expect(Object.keys(byPool).sort()).toEqual(["cpu", "inference"]);
    for (const [name, spec] of Object.entries(byPool)) {
      const trigger = spec.triggers[0];
      expect(trigger.type).toBe("temporal");
      expect(trigger.metadata).toMatchObject({
        endpoint: "crop.a1b2c.tmprl.cloud:7233",
        namespace: "crop.a1b2c",
        taskQueue: config.taskQueues[name],
        workerDeploymentBuildId: "v7",
      });
      expect(Number(trigger.metadata.targetQueueSize)).toBeGreaterThan(0);
      expect(trigger.metadata.activationTargetQueueSize).toBeDefined();
      expect(trigger.authenticationRef.name).toBe("t-crop-map-temporal");
    }
    expect(byPool.inference.minReplicaCount).toBe(0);
    const auth = ofKind(objects, "TriggerAuthentication")[0];
    expect(auth?.spec.secretTargetRef).toEqual([
      { parameter: "apiKey", name: "temporal-api-key", key: "api-key" },
    ]);
  });

  it("keeps a draining build's pools running beside the current one, each on its own version", async (ctx) => {
    if (!helm) return ctx.skip(unavailable);
    const objects = await render(["versioning.draining={v6}"]);
    const deployments = ofKind(objects, "Deployment");
    const versions = deployments.map((d) => {
      const env = container(d).env.find((e: { name: string }) => e.name === "CROP_MAP_WORKER_BUILD_ID").value;
      expect(container(d).image.endsWith(`:${env}`)).toBe(true);
      return `${pool(d)}@${env}`;
    });
    expect(versions.sort()).toEqual(["cpu@v6", "cpu@v7", "inference@v6", "inference@v7"]);
    const scaled = ofKind(objects, "ScaledObject").map((s) => s.spec);
    expect(scaled).toHaveLength(4);
    // The draining version may go to zero once its pinned runs are done.
    for (const s of scaled.filter((s) => s.triggers[0].metadata.workerDeploymentBuildId === "v6"))
      expect(s.minReplicaCount).toBe(0);
  });

  it("holds no secret value in any ConfigMap, and its config loads as the workers load it", async (ctx) => {
    if (!helm) return ctx.skip(unavailable);
    const objects = await render([
      "temporal.apiKeySecret.name=",
      "temporal.mtlsSecret.name=temporal-mtls",
      "credentials.awsSecret.name=aws-keys",
      "models.manifests.prithvi-crop-100m.onnx=s3://my-models/prithvi.onnx",
    ]);
    const maps = ofKind(objects, "ConfigMap");
    expect(maps.length).toBeGreaterThan(0);
    for (const map of maps) {
      const text = JSON.stringify(map.data);
      expect(text).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|AKIA[0-9A-Z]{16}|aws_secret_access_key/i);
      expect(text).not.toMatch(/"[^"]*(password|secret|token|apiKey|accessKey|privateKey)[^"]*"\s*:/i);
    }
    // Secrets reach the pods only as references.
    for (const d of ofKind(objects, "Deployment")) {
      expect(container(d).envFrom).toEqual([{ secretRef: { name: "aws-keys" } }]);
      const earthdata = container(d).env.find((e: { name: string }) => e.name === "EARTHDATA_TOKEN");
      expect(earthdata.valueFrom.secretKeyRef).toEqual({ name: "earthdata-login", key: "token" });
      expect(d.spec.template.spec.volumes).toContainEqual({
        name: "temporal-tls",
        secret: { secretName: "temporal-mtls" },
      });
    }
    const file = join(dir, "config.json");
    await writeFile(
      file,
      maps.find((m) => m.metadata.name === "t-crop-map-config")?.data?.["config.json"] ?? "",
    );
    const config = loadConfig({ file, env: {} });
    expect(config.temporal).toMatchObject({
      address: "crop.a1b2c.tmprl.cloud:7233",
      tls: {
        enabled: true,
        certFile: "/etc/crop-map/temporal-tls/tls.crt",
        keyFile: "/etc/crop-map/temporal-tls/tls.key",
      },
    });
    expect(config.inference.device).toBe("cuda");
    expect(config.archive.access).toBe("earthdata-s3");
  });

  it("fails the render, with a message, on GPU limits on the CPU pool and on missing credentials", async (ctx) => {
    if (!helm) return ctx.skip(unavailable);
    expect(await renderError(["pools.cpu.resources.limits.nvidia\\.com/gpu=1"])).toContain(
      "nvidia.com/gpu on the CPU pool; GPU limits belong on the inference pool only",
    );
    expect(await renderError(["credentials.serviceAccount.annotations=null"])).toContain(
      "no credentials source for S3",
    );
    expect(await renderError(["temporal.apiKeySecret.name="])).toContain(
      "no credentials source for Temporal",
    );
    expect(await renderError(["credentials.earthdataSecret.name="])).toContain(
      "no credentials source for the archive",
    );
    expect(await renderError(["config.s3.secretAccessKey=abc"])).toContain("config: a key names a secret");
    expect(await renderError(["pools.inference.terminationGracePeriodSeconds=60"])).toContain(
      "must exceed one inference batch",
    );
  });
});
