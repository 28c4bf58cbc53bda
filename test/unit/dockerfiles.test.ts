import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// These checks read the Dockerfiles as text (instructions joined over line continuations) for
// what must hold without a Docker daemon; test/integration/cluster.containers.test.ts builds and
// runs the images where one answers.
const root = join(import.meta.dirname, "..", "..");

interface Instruction {
  op: string;
  args: string;
}

function parse(file: string): Instruction[] {
  const text = readFileSync(join(root, file), "utf8").replace(/\\\n/g, " ");
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const [op = "", ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(" ") };
    });
}

/** Stages by name, each with its instructions. */
function stages(instructions: Instruction[]): Map<string, Instruction[]> {
  const out = new Map<string, Instruction[]>();
  let current: Instruction[] | undefined;
  for (const i of instructions) {
    if (i.op === "FROM") {
      const name = /\bAS\s+(\S+)/i.exec(i.args)?.[1] ?? `stage${out.size}`;
      current = [];
      out.set(name, current);
    }
    current?.push(i);
  }
  return out;
}

const images = {
  cpu: "infra/docker/cpu.Dockerfile",
  gpu: "infra/docker/gpu.Dockerfile",
} as const;

describe.each(Object.entries(images))("%s worker image", (kind, file) => {
  const all = parse(file);
  const byStage = stages(all);
  const runtime = [...byStage.values()].at(-1) ?? [];

  it("is multi-stage: dependencies, a prebuilt workflow bundle, a runtime stage", () => {
    expect([...byStage.keys()]).toEqual(expect.arrayContaining(["deps", "bundle", "runtime"]));
    const bundle = byStage.get("bundle") ?? [];
    expect(bundle.some((i) => i.op === "RUN" && i.args.includes("scripts/build-workflow-bundle.ts"))).toBe(
      true,
    );
    expect(runtime.some((i) => i.op === "COPY" && /--from=bundle/.test(i.args))).toBe(true);
    const env = runtime
      .filter((i) => i.op === "ENV")
      .map((i) => i.args)
      .join(" ");
    expect(env).toContain("CROP_MAP_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js");
    // The runtime stage installs no packages of its own: it copies them from deps.
    expect(runtime.some((i) => i.op === "RUN" && /npm (ci|install)/.test(i.args))).toBe(false);
  });

  it("names no remote frontend: a `# syntax=` line pulls an image before any step runs", () => {
    expect(readFileSync(join(root, file), "utf8")).not.toMatch(/^#\s*syntax\s*=/im);
  });

  it("runs as a non-root user", () => {
    const users = runtime.filter((i) => i.op === "USER").map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    const last = users.at(-1) ?? "";
    expect(last.split(":")[0]).not.toMatch(/^(root|0)$/);
  });

  it("carries no secret and no model weights", () => {
    for (const i of all) {
      if (i.op === "ENV" || i.op === "ARG")
        expect(i.args).not.toMatch(/(SECRET|PASSWORD|TOKEN|API_KEY|ACCESS_KEY)[A-Z_]*=/i);
      if (i.op === "COPY" || i.op === "ADD") expect(i.args).not.toMatch(/\.onnx|\.pem|\.key|netrc|\.aws/);
    }
    const ignore = readFileSync(join(root, ".dockerignore"), "utf8").split("\n");
    expect(ignore).toContain("**/*.onnx");
  });

  it("starts the pool's worker", () => {
    const entry = runtime.find((i) => i.op === "ENTRYPOINT")?.args ?? "";
    const cmd = runtime.find((i) => i.op === "CMD")?.args ?? "";
    expect(entry).toBe('["node", "bin/crop-map.js", "worker"]');
    expect(cmd).toBe(kind === "gpu" ? '["--pool", "inference"]' : '["--pool", "cpu"]');
  });
});

describe("GPU worker image", () => {
  const all = parse(images.gpu);

  it("is built on a CUDA 12 + cuDNN runtime base with onnxruntime-node's CUDA 12 build", () => {
    const cuda = all.find((i) => i.op === "ARG" && i.args.startsWith("CUDA_IMAGE="))?.args ?? "";
    expect(cuda).toMatch(/^CUDA_IMAGE=nvidia\/cuda:12\.[0-9.]+-cudnn-runtime-ubuntu/);
    // The install flag is an ARG so that `crop-map images build` can build this file on a CPU
    // base where nuget.org is out of reach; its default is the CUDA 12 build.
    expect(all.find((i) => i.op === "ARG" && i.args.startsWith("ORT_INSTALL="))?.args).toBe(
      "ORT_INSTALL=cuda12",
    );
    const deps = stages(all).get("deps") ?? [];
    expect(
      deps.some(
        (i) =>
          i.op === "RUN" &&
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's ${ORT_INSTALL}, not a template
          i.args.includes("ONNXRUNTIME_NODE_INSTALL=${ORT_INSTALL} npm install"),
      ),
    ).toBe(true);
  });
});
