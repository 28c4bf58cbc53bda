import type { Config } from "../config/config.schema.ts";
import { earthdataCredentialProvider } from "../earthdata/earthdata.credentials.ts";
import { resolveEarthdataLogin } from "../earthdata/earthdata.login.ts";
import { createEarthdataSession, type EarthdataSession } from "../earthdata/earthdata.session.ts";
import { createS3Client } from "../storage/s3.client.ts";
import { cmrGranuleLister } from "./cmr.search.ts";
import { createS3Archive, type HlsArchive } from "./hls.archive.ts";
import { createHttpsArchive } from "./https.archive.ts";

/** LP DAAC's buckets: AWS itself, us-west-2 (direct access works from nowhere else), virtual-hosted. */
const LpDaacS3: Config["s3"] = { region: "us-west-2", forcePathStyle: false };

type ArchiveConfig = Pick<Config, "s3" | "storage" | "archive">;

function earthdataSession(config: ArchiveConfig, env: NodeJS.ProcessEnv): EarthdataSession {
  const { loginHost } = config.archive;
  return createEarthdataSession(resolveEarthdataLogin(env, loginHost), loginHost);
}

/**
 * The HLS archive (`storage.hls`) as `archive.access` reaches it, with its own client and
 * credentials, apart from the team's buckets. Build one per worker process: it holds the S3
 * connections and the Earthdata credentials and cookies. Without an Earthdata login where one
 * is needed, this throws EarthdataLoginError at once, so a worker never starts without it.
 */
export function createHlsArchive(config: ArchiveConfig, env: NodeJS.ProcessEnv = process.env): HlsArchive {
  const { archive, storage } = config;
  const listing = archive.listing ?? (archive.access === "earthdata-https" ? "cmr" : "s3-list");
  const cmr = cmrGranuleLister(archive.cmrUrl);
  const listed = (s3Archive: HlsArchive): HlsArchive =>
    listing === "cmr" ? { ...s3Archive, listGranules: cmr } : s3Archive;

  switch (archive.access) {
    case "s3":
      return listed(createS3Archive(createS3Client({ s3: archive.s3 ?? config.s3 }, env), storage.hls));
    case "earthdata-s3": {
      const credentials = earthdataCredentialProvider(earthdataSession(config, env), archive.credentialsUrl);
      const s3 = createS3Client({ s3: archive.s3 ?? LpDaacS3 }, env, credentials);
      return listed(createS3Archive(s3, storage.hls));
    }
    case "earthdata-https":
      return createHttpsArchive(earthdataSession(config, env), archive.httpsUrl, storage.hls, cmr);
  }
}
