import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { imageExists, runStreamed } from "./docker.cli.ts";

const run = promisify(execFile);

/** The locally made base: a minimal Debian 13 with its Node 20, and npm, in the node image's layout. */
export const LocalBaseTag = "crop-map-base:trixie-node20";
const DebianMirror = "http://deb.debian.org/debian";
/** The npm of node:20-bookworm-slim, from npm's registry: Debian's npm drags in node-gyp and -dev packages (~200 MB). */
const NpmPackage = "npm@10.8.2";
/** CA certificates the host added (a TLS-inspecting egress proxy's, say): the builds' npm must trust them too. */
const HostCaDir = "/usr/local/share/ca-certificates";

// nodejs through apt in the new root: debootstrap's own resolver fails on some packages' alternatives.
const InstallNode =
  "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs ca-certificates";
/**
 * What `node:20-bookworm-slim` has that the Dockerfiles rely on and Debian's packages lack: the
 * unprivileged user `node` (uid 1000, the CPU image's USER), node and npm under /usr/local, where
 * the GPU file copies them from onto its CUDA base (npm's links in /usr/bin, since that file makes
 * its own in /usr/local/bin). Then the host's CAs, and no package lists, caches or docs.
 */
const NodeImageLayout = [
  "useradd --uid 1000 --user-group --create-home --shell /bin/bash node",
  "ln -s /usr/bin/node /usr/local/bin/node",
  "ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/bin/npm",
  "ln -s /usr/local/lib/node_modules/npm/bin/npx-cli.js /usr/bin/npx",
  "update-ca-certificates",
  // As Debian's official images do: apt keeps no package caches, so a later `apt-get update` layer stays small.
  `printf '%s\\n' 'Dir::Cache::pkgcache "";' 'Dir::Cache::srcpkgcache "";' > /etc/apt/apt.conf.d/docker-clean`,
  "apt-get clean",
  "rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log /usr/share/doc/* /usr/share/man/* /usr/share/locale/*",
].join(" && ");

/**
 * Makes the local base image unless an image of that tag is already there: no registry can be
 * reached here, so it is built from Debian's packages (debootstrap, as root) with npm's own
 * package, and `docker import`ed. Returns the tag.
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
    const { stdout } = await run("npm", ["pack", NpmPackage, "--pack-destination", work, "--silent"]);
    const npmDir = join(root, "usr/local/lib/node_modules/npm");
    await mkdir(npmDir, { recursive: true });
    await run("tar", ["-xzf", join(work, stdout.trim()), "-C", npmDir, "--strip-components=1"]);
    if (existsSync(HostCaDir)) await cp(HostCaDir, join(root, HostCaDir), { recursive: true });
    await runStreamed("chroot", [root, "/bin/sh", "-c", `${InstallNode} && ${NodeImageLayout}`], log);
    const tar = spawn("tar", ["--numeric-owner", "-C", root, "-c", "."], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await runStreamed(
      "docker",
      [
        "import",
        "--change",
        // Debian's node reads only its bundled CAs unless told: the system store has the host's too.
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
