import { type FileHandle, open } from "node:fs/promises";

/** NumPy dtypes of the arrays the trainers read. */
const Dtypes = { int16: "<i2", uint8: "|u1" } as const;
export type NpyDtype = keyof typeof Dtypes;

const bytesPer = (dtype: NpyDtype) => (dtype === "int16" ? 2 : 1);

/**
 * The `.npy` (format 1.0) header of an array: magic, version, a little-endian uint16 header length
 * and the header dict padded to a 64-byte boundary; the C-order data follows it.
 */
export function npyHeader(dtype: NpyDtype, shape: readonly number[]): Buffer {
  const dict = `{'descr': '${Dtypes[dtype]}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  const unpadded = 10 + dict.length + 1;
  const header = `${dict}${" ".repeat((64 - (unpadded % 64)) % 64)}\n`;
  const prefix = Buffer.alloc(10);
  prefix.write("\x93NUMPY", 0, "latin1");
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, "latin1")]);
}

/** A whole `.npy` file in memory; `data` must fill `shape`. */
export function npyBytes(dtype: NpyDtype, shape: readonly number[], data: Int16Array | Uint8Array): Buffer {
  const expected = shape.reduce((a, b) => a * b, 1) * bytesPer(dtype);
  if (data.byteLength !== expected)
    throw new Error(
      `npy array of shape [${shape.join(", ")}] needs ${expected} bytes, got ${data.byteLength}`,
    );
  return Buffer.concat([
    npyHeader(dtype, shape),
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  ]);
}

/**
 * An `.npy` file written as its rows come, so a dataset of many chips never sits in memory whole:
 * the header fixes dtype and shape, then each `append` adds the next rows' bytes. NumPy opens it
 * with `np.load(..., mmap_mode="r")`.
 */
export class NpyWriter {
  private written = 0;

  private constructor(
    private readonly file: FileHandle,
    private readonly expected: number,
  ) {}

  static async create(path: string, dtype: NpyDtype, shape: number[]): Promise<NpyWriter> {
    const file = await open(path, "w");
    await file.write(npyHeader(dtype, shape));
    return new NpyWriter(file, shape.reduce((a, b) => a * b, 1) * bytesPer(dtype));
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
