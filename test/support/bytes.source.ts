import type { ByteSource } from "../../lib/source/byte.source.ts";

/**
 * Bytes in memory as a ByteSource, recording the largest read answered; `onRead` runs at each
 * read (the fuzzers sample memory there).
 */
export function bytesSource(
  bytes: Uint8Array,
  name = "memory.tif",
  onRead: () => void = () => {},
): ByteSource & { largestRead: number } {
  return {
    name,
    size: bytes.length,
    largestRead: 0,
    async read(offset, length) {
      onRead();
      const data = bytes.subarray(Math.min(offset, bytes.length), Math.min(offset + length, bytes.length));
      this.largestRead = Math.max(this.largestRead, data.length);
      return data;
    },
  };
}
