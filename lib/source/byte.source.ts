/**
 * A file read by byte ranges, wherever it lies (a local file, an S3 object, a URL), after
 * blacha/cogeotiff's `Source`: the COG reader works over this and knows nothing of S3, HTTP,
 * logins or retries, which the implementations (lib/storage/s3.source.ts,
 * lib/hls/https.source.ts, ./file.source.ts) keep to themselves.
 */
export interface ByteSource {
  /** The file as messages name it: a path, an s3:// URL, or a URL without its query. */
  readonly name: string;
  /** The file's length in bytes once known: a local file's at once, a remote one's after its first read. */
  readonly size: number | undefined;
  /**
   * Up to `length` bytes at `offset`; fewer only where the file ends. An implementation never
   * allocates past the file's end, whatever `length` a caller derived from the file asks for.
   */
  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
}

/** `bytes a-b/total` of a Content-Range header: the file's length. */
export function totalOfContentRange(header: string | null | undefined): number | undefined {
  const total = /^bytes \d+-\d+\/(\d+)$/.exec(header ?? "")?.[1];
  return total === undefined ? undefined : Number(total);
}
