import type { ByteSource } from "../../lib/source/byte.source.ts";

/** Bytes in memory as a ByteSource, recording the largest read asked for and answered. */
export function bytesSource(bytes: Uint8Array, name = "memory.tif"): ByteSource & { largestRead: number } {
  return {
    name,
    size: bytes.length,
    largestRead: 0,
    async read(offset, length) {
      const data = bytes.subarray(Math.min(offset, bytes.length), Math.min(offset + length, bytes.length));
      this.largestRead = Math.max(this.largestRead, data.length);
      return data;
    },
  };
}
