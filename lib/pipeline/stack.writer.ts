import { deflateSync } from "node:zlib";
import { type StackHeader, StackMagic, StackNodata } from "../contracts/stack.header.ts";
import { sharedArray } from "../threads/task.pool.ts";
import { stagePool } from "./stage.pool.ts";

export interface ChunkRowJob {
  /** On shared memory: a task thread reads them in place. */
  planes: Int16Array[];
  grid: StackHeader["grid"];
  chunk: number;
  /** Which row of chunks. */
  cy: number;
}

/** A row of chunks, deflated and back to back, and the length of each. */
export interface EncodedChunkRow {
  bytes: Uint8Array;
  lengths: number[];
}

/** One row of a stack's chunks ([channel][y][x] each, StackNodata past the raster's edge), deflated. */
export function encodeChunkRow({ planes, grid, chunk, cy }: ChunkRowJob): EncodedChunkRow {
  const across = Math.ceil(grid.width / chunk);
  const block = new Int16Array(planes.length * chunk * chunk);
  const raw = Buffer.from(block.buffer);
  const parts: Buffer[] = [];
  for (let cx = 0; cx < across; cx++) {
    block.fill(StackNodata);
    const w = Math.min(chunk, grid.width - cx * chunk);
    planes.forEach((plane, c) => {
      for (let y = 0; y < chunk && cy * chunk + y < grid.height; y++) {
        const row = (cy * chunk + y) * grid.width + cx * chunk;
        block.set(plane.subarray(row, row + w), c * chunk * chunk + y * chunk);
      }
    });
    parts.push(deflateSync(raw, { level: 1 }));
  }
  return { bytes: Buffer.concat(parts), lengths: parts.map((p) => p.length) };
}

function onSharedMemory(plane: Int16Array): Int16Array {
  if (plane.buffer instanceof SharedArrayBuffer) return plane;
  const shared = sharedArray(Int16Array, plane.length);
  shared.set(plane);
  return shared;
}

/**
 * Encodes planes (each width x height int16, StackNodata where invalid) as a stack file (see
 * stack.format.ts): the rows of chunks are cut and deflated on staging's task threads, which read
 * the planes where they lie (planes not on shared memory are copied there once).
 */
export async function encodeStack(
  planes: Int16Array[],
  grid: StackHeader["grid"],
  chunk: number,
  validPixels: number,
): Promise<Buffer> {
  const shared = planes.map(onSharedMemory);
  const down = Math.ceil(grid.height / chunk);
  const rows = await Promise.all(
    Array.from({ length: down }, (_, cy) =>
      stagePool().run<EncodedChunkRow>("encodeChunkRow", {
        planes: shared,
        grid,
        chunk,
        cy,
      } satisfies ChunkRowJob),
    ),
  );
  const lengths = rows.flatMap((r) => r.lengths);
  const header = (chunks: [number, number][]) =>
    Buffer.from(
      JSON.stringify({
        grid,
        channels: planes.length,
        chunk,
        chunksAcross: Math.ceil(grid.width / chunk),
        chunksDown: down,
        chunks,
        validPixels,
      } satisfies StackHeader),
    );
  // Offsets depend on the header's length, which depends on the offsets: settle it by padding.
  let size = header(lengths.map(() => [0, 0])).length + 64;
  for (;;) {
    let at = 12 + size;
    const chunks = lengths.map((length): [number, number] => {
      const entry: [number, number] = [at, length];
      at += length;
      return entry;
    });
    const h = header(chunks);
    if (h.length <= size) {
      const head = Buffer.alloc(12 + size, 0x20);
      head.write(StackMagic, 0, "latin1");
      head.writeUInt32LE(size, 8);
      h.copy(head, 12);
      return Buffer.concat([head, ...rows.map((r) => r.bytes)]);
    }
    size = h.length + 64;
  }
}
