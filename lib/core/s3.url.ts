import { z } from "zod";

/** S3 bucket names as AWS allows them for new buckets (lower case, digits, dots, hyphens). */
const BucketName = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** A place in S3: a bucket and a key prefix (no leading slash; empty or ending in "/"). */
export interface S3Location {
  bucket: string;
  prefix: string;
}

/**
 * Why a key or prefix is unsafe, or undefined when it is fine. Keys are joined from user input
 * (output prefixes, run ids), so anything that could climb out of its prefix is refused.
 */
export function unsafeKeyReason(key: string): string | undefined {
  if (key.startsWith("/")) return "starts with '/' (keys are relative to their bucket)";
  if (key.includes("\\")) return "contains a backslash";
  if (key.split("/").some((part) => part === ".." || part === ".")) return "contains a '.' or '..' segment";
  if (key.includes("//")) return "contains an empty segment ('//')";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this rejects
  if (/[\u0000-\u001f\u007f]/.test(key)) return "contains a control character";
  return undefined;
}

/** Parses `s3://bucket/prefix` into a location whose prefix is empty or ends in "/". */
export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  if (!match) throw new Error(`'${url}' is not an s3:// URL (expected s3://bucket/prefix)`);
  const bucket = match[1] ?? "";
  if (!BucketName.test(bucket)) throw new Error(`'${bucket}' in '${url}' is not a valid bucket name`);
  let prefix = match[2] ?? "";
  if (prefix !== "" && !prefix.endsWith("/")) prefix += "/";
  const unsafe = prefix === "" ? undefined : unsafeKeyReason(prefix);
  if (unsafe) throw new Error(`the prefix of '${url}' ${unsafe}`);
  return { bucket, prefix };
}

export function formatS3Url(location: S3Location, key = ""): string {
  return `s3://${location.bucket}/${location.prefix}${key}`;
}

/** The key of `relative` under a location, refusing any relative key that could escape the prefix. */
export function keyUnder(location: S3Location, relative: string): string {
  const unsafe = unsafeKeyReason(relative);
  if (unsafe) throw new Error(`key '${relative}' ${unsafe}`);
  return `${location.prefix}${relative}`;
}

/** zod form of an `s3://bucket/prefix` string, parsed into an S3Location. */
export const S3UrlParser = z.string().transform((url, ctx) => {
  try {
    return parseS3Url(url);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});
