import { createReadStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { join } from "node:path";
import type { EncodeRowJob } from "./cog.encode.tasks.ts";
import {
  type CogOptions,
  cogHeader,
  type LevelLayout,
  levelSizes,
  packTiles,
  type RasterHead,
} from "./cog.writer.ts";
import type { Resampling } from "./overviews.ts";
import { rasterPool } from "./raster.tasks.ts";
import type { PixelArray } from "./raster.types.ts";

interface LevelState extends LevelLayout {
  /**
   * Rows received and not yet encoded (fewer than one tile row), on shared memory: an overview's
   * are the halves of the level above, which the raster threads write here directly.
   */
  rows: PixelArray;
  filled: number;
  file: string;
  handle: Awaited<ReturnType<typeof open>>;
}

/**
 * Writes a COG too large to hold in memory, row strips (or blocks of them) at a time: each tile
 * row of a level is cut, deflated and halved for the next level on the raster threads, its tiles go
 * to a temporary file, and finish() lays the levels out after the header, smallest overview first.
 * The file is byte-identical to encodeCog's for the same pixels and options (overviews are halved
 * 2 x 2, so a strip of whole tile rows halves exactly as the whole raster would). Memory, whatever
 * the height: two full-width tile rows of the full resolution (one filling while the other is
 * encoded) and one of each overview, which a tile row above halves into directly: about three tile
 * rows of the full width in all (for a uint8 raster 40,000 px wide, 60 MB).
 */
export class CogStripWriter {
  private readonly size: number;
  private readonly fill: number;
  private levels: LevelState[] = [];
  private received = 0;
  /** The full resolution's other tile row: free once `encoding` is done. */
  private spare: PixelArray;
  /** The encoding of the last full-resolution tile row handed off, and of the overviews it fed. */
  private encoding: Promise<void> = Promise.resolve();

  private constructor(
    private readonly head: RasterHead & { width: number; height: number },
    private readonly options: CogOptions,
    private readonly dir: string,
  ) {
    this.size = options.tileSize ?? 512;
    this.fill = head.nodata ?? 0;
    this.spare = this.shared(head.width * this.size);
  }

  /** A writer for a raster of the given size; `head.data` only gives the pixel type (may be empty). */
  static async create(
    head: RasterHead & { width: number; height: number },
    options: CogOptions,
    tmpRoot: string,
  ): Promise<CogStripWriter> {
    const overviews = (options.overviews ?? "none") !== "none";
    // Two halved tile rows make one of the next level's only when the tile size is even.
    if (overviews && (options.tileSize ?? 512) % 2 !== 0)
      throw new Error(
        `tile size ${options.tileSize} is odd: overviews are written with even tile sizes only`,
      );
    const writer = new CogStripWriter(head, options, await mkdtemp(join(tmpRoot, "cog-")));
    const sizes = levelSizes(head.width, head.height, writer.size, overviews);
    for (const [l, [width, height]] of sizes.entries()) {
      const file = join(writer.dir, `level-${l}`);
      writer.levels.push({
        width,
        height,
        tileLengths: [],
        rows: writer.shared(width * writer.size),
        filled: 0,
        file,
        handle: await open(file, "w"),
      });
    }
    return writer;
  }

  /** An array of the raster's pixel type on shared memory, so the raster threads read it in place. */
  private shared(length: number): PixelArray {
    const kind = this.head.data.constructor as {
      new (b: SharedArrayBuffer): PixelArray;
      BYTES_PER_ELEMENT: number;
    };
    return new kind(new SharedArrayBuffer(length * kind.BYTES_PER_ELEMENT));
  }

  /** Appends whole rows (full width) below those already written. */
  async append(rows: PixelArray): Promise<void> {
    const width = this.head.width;
    const count = rows.length / width;
    if (!Number.isInteger(count) || this.received + count > this.head.height)
      throw new Error(
        `strip of ${rows.length} pixels is not whole rows within the raster's ${this.head.height}`,
      );
    for (let from = 0; from < count; ) {
      const take = Math.min(this.size - (this.levels[0] as LevelState).filled, count - from);
      await this.appendBlock(rows.subarray(from * width, (from + take) * width), 0, width);
      from += take;
    }
  }

  /**
   * Appends a block of the next rows: columns [col0, col0 + blockWidth), as many rows as it holds.
   * A band of rows comes as blocks left to right, all of the same rows and within one tile row; the
   * rows count as written with the block that reaches the right edge.
   */
  async appendBlock(block: PixelArray, col0: number, blockWidth: number): Promise<void> {
    const level = this.levels[0] as LevelState;
    const { width } = level;
    const rows = block.length / blockWidth;
    if (
      !Number.isInteger(rows) ||
      col0 < 0 ||
      col0 + blockWidth > width ||
      level.filled + rows > this.size ||
      this.received + rows > this.head.height
    )
      throw new Error(
        `block of ${block.length} pixels at column ${col0}, ${blockWidth} wide, is not whole rows within the raster's ${width} x ${this.head.height} and the tile row`,
      );
    for (let r = 0; r < rows; r++)
      level.rows.set(block.subarray(r * blockWidth, (r + 1) * blockWidth), (level.filled + r) * width + col0);
    if (col0 + blockWidth < width) return;
    this.received += rows;
    level.filled += rows;
    if (level.filled === this.size) await this.handOff();
  }

  /** Starts encoding the full resolution's tile row and fills the other one meanwhile. */
  private async handOff(): Promise<void> {
    const level = this.levels[0] as LevelState;
    await this.encoding;
    const rows = level.rows;
    const filled = level.filled;
    level.rows = this.spare;
    level.filled = 0;
    this.spare = rows;
    this.encoding = this.encodeRow(0, rows, filled);
    // Awaited at the next hand-off or at finish; a failure meanwhile must not count as unhandled.
    this.encoding.catch(() => {});
  }

  /**
   * Encodes `rows` rows of a level as one tile row, on the raster threads, which halve them into
   * the next level's rows below those it holds (a tile row halves to half of one there).
   */
  private async encodeRow(index: number, data: PixelArray, rows: number): Promise<void> {
    const level = this.levels[index] as LevelState;
    const { width } = level;
    const next = this.levels[index + 1];
    const halved = Math.ceil(rows / 2);
    const half = next?.rows.subarray(next.filled * next.width, (next.filled + halved) * next.width);
    const across = Math.ceil(width / this.size);
    const threads = rasterPool();
    // A few tiles a task: every thread gets a share of a row.
    const share = Math.max(1, Math.ceil(across / (threads.size * 2)));
    const jobs: Promise<Uint8Array[]>[] = [];
    for (let tx0 = 0; tx0 < across; tx0 += share) {
      const job: EncodeRowJob = {
        data: data.subarray(0, rows * width),
        width,
        rows,
        size: this.size,
        fill: this.fill,
        predictor: !(data instanceof Float32Array),
        level: this.options.deflateLevel ?? 6,
        tx0,
        tx1: Math.min(across, tx0 + share),
        ...(half
          ? {
              half: {
                out: half,
                mode: this.options.overviews as Resampling,
                ...(this.head.nodata === undefined ? {} : { nodata: this.head.nodata }),
              },
            }
          : {}),
      };
      jobs.push(threads.run<Uint8Array[]>("encodeRow", job));
    }
    const tiles = (await Promise.all(jobs)).flat();
    for (const tile of tiles) level.tileLengths.push(tile.length);
    await level.handle.write(packTiles(tiles));
    if (!next) return;
    next.filled += halved;
    if (next.filled === this.size) {
      await this.encodeRow(index + 1, next.rows, next.filled);
      next.filled = 0;
    }
  }

  /** Writes the COG to `path` and removes the temporary files. */
  async finish(path: string): Promise<{ bytes: number }> {
    try {
      if (this.received !== this.head.height)
        throw new Error(`${this.received} of ${this.head.height} rows written`);
      await this.encoding;
      for (const level of this.levels.entries()) {
        const [l, state] = level;
        if (state.filled === 0) continue;
        const filled = state.filled;
        state.filled = 0;
        await this.encodeRow(l, state.rows, filled);
      }
      for (const level of this.levels) await level.handle.close();
      const { header, bytes } = cogHeader(this.head, this.levels, this.size, this.options);
      // Appended level by level through one handle (a piped stream per level would pile listeners
      // on one write stream: a state mosaic has a dozen levels).
      const out = await open(path, "w");
      try {
        await out.write(header);
        for (const level of [...this.levels].reverse())
          for await (const chunk of createReadStream(level.file)) await out.write(chunk as Buffer);
      } finally {
        await out.close();
      }
      return { bytes };
    } finally {
      await this.discard();
    }
  }

  /** Removes the temporary files (after finish, or when the work is abandoned). */
  async discard(): Promise<void> {
    await this.encoding.catch(() => {});
    for (const level of this.levels) await level.handle.close().catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}
