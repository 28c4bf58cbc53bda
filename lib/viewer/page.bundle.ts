import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";
import { build, version as esbuildVersion } from "esbuild";

const PageDir = join(import.meta.dirname, "page");
const Entry = join(PageDir, "map.page.ts");

/** The bundle's files, as the server serves them. */
export const BundleFiles = { "viewer.js": "text/javascript", "viewer.css": "text/css" } as const;

/** Bundles live outside the work tree, like the server binaries: never committed, shared by clones. */
export function viewerCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "crop-map", "viewer");
}

/** A bundle is named by what goes into it: the page's sources and the versions of ol and esbuild. */
async function bundleKey(): Promise<string> {
  const hash = createHash("sha256");
  const ol = createRequire(import.meta.url)("ol/package.json") as { version: string };
  hash.update(`ol ${ol.version} esbuild ${esbuildVersion}\n`);
  for (const name of (await readdir(PageDir)).sort())
    hash.update(name).update(await readFile(join(PageDir, name)));
  return hash.digest("hex").slice(0, 16);
}

/**
 * The page's JavaScript and CSS (OpenLayers, proj4 and the viewer's own code in one file, so the
 * page works offline), built on first use and reused while its sources stay the same. Built into
 * a temporary folder and renamed, so two servers starting at once never serve half a bundle.
 */
export async function ensurePageBundle(): Promise<string> {
  const dir = join(viewerCacheDir(), await bundleKey());
  if (existsSync(join(dir, "viewer.js"))) return dir;
  await mkdir(viewerCacheDir(), { recursive: true });
  const tmp = await mkdtemp(join(viewerCacheDir(), "build-"));
  try {
    await build({
      entryPoints: { viewer: Entry },
      bundle: true,
      minify: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      outdir: tmp,
      logLevel: "silent",
    });
    await rename(tmp, dir).catch((error: NodeJS.ErrnoException) => {
      // Another server finished the same bundle first: its copy is as good.
      if (!existsSync(join(dir, "viewer.js"))) throw error;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}
