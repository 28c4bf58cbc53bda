import { type FileHandle, open } from "node:fs/promises";
import type { ByteSource } from "./byte.source.ts";

/** A local file as a ByteSource, open until `close`; `name` is what messages call it. */
export interface FileSource extends ByteSource {
  readonly size: number;
  close(): Promise<void>;
}

export async function openFileSource(path: string, name: string = path): Promise<FileSource> {
  const file: FileHandle = await open(path, "r");
  const { size } = await file.stat();
  return {
    name,
    size,
    async read(offset, length) {
      // Clipped to the file before allocating: a length read from the file may be anything.
      const wanted = Math.max(0, Math.min(length, size - offset));
      const buffer = new Uint8Array(wanted);
      const { bytesRead } = await file.read(buffer, 0, wanted, offset);
      return bytesRead === wanted ? buffer : buffer.subarray(0, bytesRead);
    },
    close: () => file.close(),
  };
}
