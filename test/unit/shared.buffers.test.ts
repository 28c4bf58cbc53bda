import { describe, expect, it } from "vitest";
import { giveShared, takeShared } from "../../lib/threads/shared.buffers.ts";

describe("shared buffers for reuse", () => {
  it("hands back the smallest given-back buffer that fits (at most twice the size), and a new one when none does", () => {
    const small = takeShared(100_000);
    const large = takeShared(1_000_000);
    expect(small.byteLength).toBeGreaterThanOrEqual(100_000);
    giveShared(large);
    giveShared(small);
    expect(takeShared(90_000)).toBe(small);
    expect(takeShared(200_000)).not.toBe(large);
    expect(takeShared(600_000)).toBe(large);
    expect(takeShared(100_000)).not.toBe(small);
  });

  it("keeps a bounded number of bytes", () => {
    const many = Array.from({ length: 100 }, () => takeShared(3 << 20));
    for (const b of many) giveShared(b);
    const again = Array.from({ length: 100 }, () => takeShared(3 << 20));
    const reused = again.filter((b) => many.includes(b)).length;
    expect(reused).toBeGreaterThan(0);
    expect(reused).toBeLessThan(100);
  });
});
