/**
 * Refusals of the readers of files we did not write (zip archives, TIFFs, catalogue records): a
 * file that is damaged, hostile or past what a reader takes. Each names its source (a path, or a
 * URL without its query) so that one line tells a person which file and why. No imports: every
 * layer may throw or recognise them.
 */

/** A file a reader refuses; `source` names it, the message starts with it. */
export class ReaderError extends Error {
  override name = "ReaderError";
  constructor(
    readonly source: string,
    detail: string,
  ) {
    super(`${source}: ${detail}`);
  }
}

/** A zip archive this reader cannot take: damaged, hostile, encrypted or compressed another way. */
export class ZipError extends ReaderError {
  override name = "ZipError";
}

/** A TIFF whose header, directories or tiles are damaged, hostile or of a kind not read. */
export class TiffError extends ReaderError {
  override name = "TiffError";
}

/** A file larger than its reader's cap, or than the disk has room for. */
export class TooLargeError extends ReaderError {
  override name = "TooLargeError";
}
