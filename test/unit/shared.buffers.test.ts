import { describe, expect, it } from "vitest";
import { giveShared, takeShared } from "../../lib/threads/shared.buffers.ts";

describe("shared buffers for reuse", () => {
  it("hands back a given-back buffer of the same rounded size, and a new one otherwise", () => {
    const a = takeShared(100_000);
    expect(a.byteLength).toBeGreaterThanOrEqual(100_000);
    giveShared(a);
    // 100,001 bytes round up to the same size: the same buffer again.
    expect(takeShared(100_001)).toBe(a);
    expect(takeShared(100_000)).not.toBe(a);
    expect(takeShared(1 << 20).byteLength).toBe(1 << 20);
  });

  it("keeps a bounded number of each size", () => {
    const many = Array.from({ length: 40 }, () => takeShared(3 << 20));
    for (const b of many) giveShared(b);
    const again = Array.from({ length: 40 }, () => takeShared(3 << 20));
    const reused = again.filter((b) => many.includes(b)).length;
    expect(reused).toBeGreaterThan(0);
    expect(reused).toBeLessThan(40);
  });
});
