import { type FileHandle, open } from "node:fs/promises";

/** NumPy dtypes of the arrays the trainer reads. */
const Dtypes = { int16: "<i2", uint8: "|u1" } as const;

/**
 * An `.npy` file (format 1.0) written as its rows come, so a dataset of many chips never sits in
 * memory whole: the header fixes dtype and shape, then each `append` adds the next rows' bytes.
 * NumPy opens it with `np.load(..., mmap_mode="r")`.
 */
export class NpyWriter {
  private written = 0;

  private constructor(
    private readonly file: FileHandle,
    private readonly expected: number,
  ) {}

  static async create(path: string, dtype: keyof typeof Dtypes, shape: number[]): Promise<NpyWriter> {
    const dict = `{'descr': '${Dtypes[dtype]}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
    // Magic, version, a little-endian uint16 header length; the header padded to a 64-byte boundary.
    const unpadded = 10 + dict.length + 1;
    const header = `${dict}${" ".repeat((64 - (unpadded % 64)) % 64)}\n`;
    const prefix = Buffer.alloc(10);
    prefix.write("\x93NUMPY", 0, "latin1");
    prefix[6] = 1;
    prefix[7] = 0;
    prefix.writeUInt16LE(header.length, 8);
    const file = await open(path, "w");
    await file.write(Buffer.concat([prefix, Buffer.from(header, "latin1")]));
    const bytes = shape.reduce((a, b) => a * b, 1) * (dtype === "int16" ? 2 : 1);
    return new NpyWriter(file, bytes);
  }

  async append(data: Int16Array | Uint8Array): Promise<void> {
    await this.file.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.written += data.byteLength;
  }

  /** Closes the file; refuses one whose rows do not fill its shape. */
  async close(): Promise<void> {
    await this.file.close();
    if (this.written !== this.expected)
      throw new Error(`npy file got ${this.written} bytes of data, its shape holds ${this.expected}`);
  }
}
