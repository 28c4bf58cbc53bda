import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import type { Config } from "../config/config.schema.ts";
import { countBytesRead } from "../metrics/pipeline.metrics.ts";
import { LocalS3Credentials } from "./local.credentials.ts";

function isLoopback(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  const host = new URL(endpoint).hostname;
  return host === "localhost" || host === "[::1]" || host.startsWith("127.");
}

/**
 * The one place an S3 client is built. Credentials come from the AWS SDK's default chain, or from
 * `credentials` where a caller has its own (the archive's Earthdata credentials); for a server on
 * loopback with no credentials in the environment, the local stack's fixed ones are used, so the
 * chain never probes instance metadata from a developer machine.
 */
export function createS3Client(
  config: Pick<Config, "s3">,
  env: NodeJS.ProcessEnv = process.env,
  credentials?: S3ClientConfig["credentials"],
): S3Client {
  const { endpoint, region, forcePathStyle } = config.s3;
  const localCredentials = isLoopback(endpoint) && !env.AWS_ACCESS_KEY_ID ? LocalS3Credentials : undefined;
  const chosen = credentials ?? localCredentials;
  const client = new S3Client({
    region,
    forcePathStyle,
    ...(endpoint ? { endpoint } : {}),
    ...(chosen ? { credentials: chosen } : {}),
    // The local server and most S3-compatible ones don't do the newer default checksums well.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  countBytesRead(client);
  return client;
}
