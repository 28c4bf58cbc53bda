import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

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
