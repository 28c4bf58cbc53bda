import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import {
  type CogOptions,
  cogHeader,
  encodeTiles,
  type LevelLayout,
  levelSizes,
  type RasterHead,
  wrapTile,
} from "./cog.writer.ts";
import { halve, type Resampling } from "./overviews.ts";
import type { PixelArray } from "./raster.types.ts";

interface LevelState extends LevelLayout {
  /** Rows received and not yet encoded (fewer than one tile row). */
  rows: PixelArray;
  filled: number;
  file: string;
  handle: Awaited<ReturnType<typeof open>>;
}

/**
 * Writes a COG too large to hold in memory, row strips at a time: each level keeps at most one
 * tile row of pixels, its encoded tiles go to a temporary file, and finish() lays the levels out
 * after the header, smallest overview first. The file is byte-identical to encodeCog's for the same
 * pixels and options (overviews are halved 2 x 2, so a strip of whole tile rows halves exactly as
 * the whole raster would). Memory: about two tile rows of the full width, whatever the height.
 */
export class CogStripWriter {
  private readonly size: number;
  private readonly fill: number;
  private levels: LevelState[] = [];
  private received = 0;

  private constructor(
    private readonly head: RasterHead & { width: number; height: number },
    private readonly options: CogOptions,
    private readonly dir: string,
  ) {
    this.size = options.tileSize ?? 512;
    this.fill = head.nodata ?? 0;
  }

  /** A writer for a raster of the given size; `head.data` only gives the pixel type (may be empty). */
  static async create(
    head: RasterHead & { width: number; height: number },
    options: CogOptions,
    tmpRoot: string,
  ): Promise<CogStripWriter> {
    const writer = new CogStripWriter(head, options, await mkdtemp(join(tmpRoot, "cog-")));
    const sizes = levelSizes(head.width, head.height, writer.size, (options.overviews ?? "none") !== "none");
    for (const [l, [width, height]] of sizes.entries()) {
      const file = join(writer.dir, `level-${l}`);
      writer.levels.push({
        width,
        height,
        tileLengths: [],
        rows: writer.like(width * writer.size),
        filled: 0,
        file,
        handle: await open(file, "w"),
      });
    }
    return writer;
  }

  private like(length: number): PixelArray {
    return new (this.head.data.constructor as new (n: number) => PixelArray)(length);
  }

  /** Appends whole rows (full width) below those already written. */
  async append(rows: PixelArray): Promise<void> {
    const count = rows.length / this.head.width;
    if (!Number.isInteger(count) || this.received + count > this.head.height)
      throw new Error(
        `strip of ${rows.length} pixels is not whole rows within the raster's ${this.head.height}`,
      );
    this.received += count;
    await this.push(0, rows);
  }

  private async push(index: number, rows: PixelArray): Promise<void> {
    const level = this.levels[index] as LevelState;
    const width = level.width;
    let from = 0;
    const total = rows.length / width;
    while (from < total) {
      const take = Math.min(this.size - level.filled, total - from);
      level.rows.set(rows.subarray(from * width, (from + take) * width), level.filled * width);
      level.filled += take;
      from += take;
      if (level.filled === this.size) await this.flush(index);
    }
  }

  /** Encodes the level's buffered rows as one tile row and hands their halves to the next level. */
  private async flush(index: number): Promise<void> {
    const level = this.levels[index] as LevelState;
    if (level.filled === 0) return;
    const rows = level.rows.subarray(0, level.filled * level.width);
    const tiles = await encodeTiles(rows, level.width, level.filled, this.size, this.fill, this.options);
    for (const tile of tiles) {
      level.tileLengths.push(tile.length);
      await level.handle.write(wrapTile(tile));
    }
    const next = index + 1 < this.levels.length;
    const half = next
      ? halve(rows, level.width, level.filled, this.options.overviews as Resampling, this.head.nodata)
      : undefined;
    level.filled = 0;
    if (half) await this.push(index + 1, half.data);
  }

  /** Writes the COG to `path` and removes the temporary files. */
  async finish(path: string): Promise<{ bytes: number }> {
    try {
      if (this.received !== this.head.height)
        throw new Error(`${this.received} of ${this.head.height} rows written`);
      for (const [l] of this.levels.entries()) await this.flush(l);
      for (const level of this.levels) await level.handle.close();
      const { header, bytes } = cogHeader(this.head, this.levels, this.size, this.options);
      const out = createWriteStream(path);
      await new Promise<void>((resolve, reject) => out.write(header, (e) => (e ? reject(e) : resolve())));
      for (const level of [...this.levels].reverse())
        await pipeline(createReadStream(level.file), out, { end: false });
      await new Promise<void>((resolve) => out.end(resolve));
      return { bytes };
    } finally {
      await this.discard();
    }
  }

  /** Removes the temporary files (after finish, or when the work is abandoned). */
  async discard(): Promise<void> {
    for (const level of this.levels) await level.handle.close().catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}
