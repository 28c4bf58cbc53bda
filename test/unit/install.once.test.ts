import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { installOnce } from "../../lib/install/install.once.ts";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "install-once-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** An install that takes a moment and counts how often it ran. */
function slowInstall(counter: { runs: number }, file = "tool") {
  return async (target: string) => {
    counter.runs++;
    await mkdir(target, { recursive: true });
    await new Promise((r) => setTimeout(r, 300));
    await writeFile(join(target, file), "x");
  };
}

describe("installOnce", () => {
  it("installs once when two callers ask at the same time, and both get the path", async () => {
    const counter = { runs: 0 };
    const dir = join(root, "tool-1");
    const paths = await Promise.all([
      installOnce(dir, "tool", "tool", slowInstall(counter)),
      installOnce(dir, "tool", "tool", slowInstall(counter)),
    ]);
    expect(counter.runs).toBe(1);
    expect(paths).toEqual([join(dir, "tool"), join(dir, "tool")]);
    expect(existsSync(`${dir}.partial`)).toBe(false);
  });

  it("clears a lock left by a process that died mid-install", async () => {
    const dir = join(root, "tool-1");
    await mkdir(`${dir}.partial`);
    await writeFile(join(`${dir}.partial`, "owner.pid"), "999999999");
    const counter = { runs: 0 };
    expect(await installOnce(dir, "tool", "tool", slowInstall(counter))).toBe(join(dir, "tool"));
    expect(counter.runs).toBe(1);
  });

  it("leaves nothing that looks finished when the install does not produce the file", async () => {
    const dir = join(root, "tool-1");
    await expect(installOnce(dir, "tool", "the tool", slowInstall({ runs: 0 }, "other"))).rejects.toThrow(
      "could not install the tool: it left no tool",
    );
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(`${dir}.partial`)).toBe(false);
  });
});
