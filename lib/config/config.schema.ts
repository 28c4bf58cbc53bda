import { z } from "zod";
import { DefaultTaskQueues } from "../contracts/task.queues.ts";
import { S3UrlParser } from "../core/s3.url.ts";
import { insecureUrlReason } from "../earthdata/secure.url.ts";

/** A Worker Deployment build id; also the tag of the worker images (`crop-map images build`). */
export const BuildIdParser = z.string().regex(/^[A-Za-z0-9._+-]+$/, "letters, digits, '.', '_', '+' and '-'");

/** Connection to the Temporal frontend. */
export const TemporalConfigParser = z
  .object({
    /** host:port of the frontend gRPC service. */
    address: z
      .string()
      .regex(/^[^\s:/]+:\d{1,5}$/, "expected host:port")
      .refine((address) => Number(address.split(":")[1]) <= 65535, "the port is at most 65535"),
    namespace: z.string().min(1),
    /** Base URL of the Temporal web UI, for links the CLI prints. */
    uiUrl: z.url(),
    tls: z
      .object({
        enabled: z.boolean(),
        /** Overrides the TLS server name (SNI), for endpoints reached through an alias. */
        serverName: z.string().optional(),
        caFile: z.string().optional(),
        certFile: z.string().optional(),
        keyFile: z.string().optional(),
      })
      .strict(),
  })
  .strict();

/** S3 client settings; credentials always come from the AWS SDK's default chain, never from here. */
export const S3ConfigParser = z
  .object({
    /** Endpoint of an S3-compatible server; unset means AWS itself. */
    endpoint: z.url().optional(),
    region: z.string().min(1),
    /** Path-style addressing (bucket in the path); S3-compatible servers on loopback need it. */
    forcePathStyle: z.boolean(),
  })
  .strict();

/** Where each kind of data lives, as s3://bucket/prefix URLs. */
export const StorageConfigParser = z
  .object({
    /** The HLS v2.0 archive in LP DAAC layout (HLSS30.020/<granule>/<granule>.<band>.tif). */
    hls: S3UrlParser,
    /** CDL label rasters (<year>/...). */
    cdl: S3UrlParser,
    /** Intermediate files: staged stacks, chips, partial predictions. */
    work: S3UrlParser,
    /** Maps, manifests and reports. */
    outputs: S3UrlParser,
  })
  .strict();

export const TaskQueuesConfigParser = z
  .object({
    /** Reading, masking, warping, mosaicking: CPU-bound activities and the workflows themselves. */
    cpu: z.string().min(1),
    /** Model inference; GPU workers poll this queue. */
    inference: z.string().min(1),
  })
  .strict();

export const InferenceConfigParser = z
  .object({
    /** Execution provider: "cuda" needs the GPU (see allowCpuFallback). */
    device: z.enum(["cpu", "cuda"]),
    /** Windows per model call. */
    batchSize: z.number().int().min(1).max(256),
    /**
     * Memory a tile's inference may use (MiB): caps the batch so inputs, outputs and held logit rows fit.
     * At most 1 TiB, more than any one host has.
     */
    memoryBudgetMb: z.number().int().min(64).max(1_048_576),
    /** Window rows between checkpoints that a retried activity resumes from (a tile has fewer than 4096). */
    checkpointEveryRows: z.number().int().min(1).max(4096),
    /**
     * Threads that turn finished logit rows into map values (argmax and softmax, the host's largest
     * per-pixel cost) beside the main thread; 0 does it on the main thread. Unset: one per core
     * beyond the first, at most 4.
     */
    emitThreads: z.number().int().min(0).max(64).optional(),
    /**
     * With device "cuda": run on the CPU when CUDA cannot start. Off by default, so a GPU worker
     * that would silently run on the CPU (a cost disaster at state scale) fails at start instead.
     */
    allowCpuFallback: z.boolean().default(false),
  })
  .strict();

export const WorkersConfigParser = z
  .object({
    /** Activities at once on a CPU-pool worker (each stages or reads a whole tile): one a core of the largest hosts at most. */
    cpuConcurrency: z.number().int().min(1).max(256),
    /** Tiles at once on an inference-pool worker (one model session is shared; each tile holds its own batch). */
    inferenceConcurrency: z.number().int().min(1).max(64),
    /**
     * Temporal worker versioning: the Worker Deployment this build belongs to and its build id.
     * Unset (the local stack): unversioned workers. Set: runs are pinned to the version they began on.
     */
    versioning: z
      .object({
        deploymentName: z.string().regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' and '-'"),
        buildId: BuildIdParser,
      })
      .strict()
      .optional(),
  })
  .strict();

export const MosaicConfigParser = z
  .object({
    /**
     * zlib level (1 fastest .. 9 smallest) of the run's mosaic COGs (each state's map and
     * confidence). At 6 their deflate was about a fifth of the mosaic's CPU, at 1 a third of that
     * or less; the pixels are the same at any level, only the files' bytes and sizes differ.
     */
    deflateLevel: z.number().int().min(1).max(9),
  })
  .strict();

/** An Earthdata endpoint: the login goes there, so only over HTTPS (or plain HTTP on loopback, for tests). */
const EarthdataUrl = z.url().superRefine((url, ctx) => {
  const reason = insecureUrlReason(url);
  if (reason) ctx.addIssue({ code: "custom", message: reason });
});

/** A base URL that keys or paths are appended to, so it always ends in "/". */
const BaseUrl = EarthdataUrl.transform((url) => (url.endsWith("/") ? url : `${url}/`));

/**
 * How the HLS archive (`storage.hls`) is reached. Secrets are never here: the Earthdata token
 * comes from EARTHDATA_TOKEN, or the login from a netrc file.
 */
export const ArchiveConfigParser = z
  .object({
    /**
     * "s3": the archive's own S3 settings (or the team's) and the AWS default credential chain;
     * "earthdata-s3": direct S3 with temporary credentials from `credentialsUrl` (us-west-2 only);
     * "earthdata-https": ranged HTTPS GETs under `httpsUrl` with the Earthdata token, from anywhere.
     */
    access: z.enum(["s3", "earthdata-s3", "earthdata-https"]),
    /**
     * How a tile's granules are found: "s3-list" lists the archive's folders, "cmr" asks NASA CMR's
     * granule search. Unset: "cmr" for HTTPS access (HTTPS cannot list), "s3-list" otherwise.
     */
    listing: z.enum(["s3-list", "cmr"]).optional(),
    /**
     * S3 client settings for the archive alone. Unset: the team's `s3` settings for "s3" access,
     * AWS itself in us-west-2 with virtual-hosted addressing (LP DAAC's buckets) for "earthdata-s3".
     */
    s3: S3ConfigParser.optional(),
    /** Earthdata's temporary S3 credentials endpoint of the DAAC that holds the archive. */
    credentialsUrl: EarthdataUrl,
    /** HTTPS root of the DAAC's buckets: an object is at `<httpsUrl><bucket>/<key>`. */
    httpsUrl: BaseUrl,
    /** NASA CMR search root (`granules.umm_json` is appended). */
    cmrUrl: BaseUrl,
    /** Earthdata Login host: the netrc machine looked up, and the only host a password is sent to. */
    loginHost: z.string().regex(/^[a-z0-9.-]+$/i, "expected a host name"),
  })
  .strict()
  .superRefine((archive, ctx) => {
    if (archive.access === "earthdata-https" && archive.listing === "s3-list") {
      ctx.addIssue({
        code: "custom",
        path: ["listing"],
        message: 'HTTPS access cannot list folders: use "cmr"',
      });
    }
  });

export const ConfigParser = z
  .object({
    temporal: TemporalConfigParser,
    s3: S3ConfigParser,
    storage: StorageConfigParser,
    archive: ArchiveConfigParser,
    taskQueues: TaskQueuesConfigParser,
    inference: InferenceConfigParser,
    workers: WorkersConfigParser,
    mosaic: MosaicConfigParser,
  })
  .strict();

/** The configuration as files and the environment spell it (locations still as URLs). */
export type ConfigInput = z.input<typeof ConfigParser>;
export type Config = z.output<typeof ConfigParser>;

/** The embedded default: the local stack of `crop-map dev up` on its standard ports. */
export const DefaultConfig: ConfigInput = {
  temporal: {
    address: "127.0.0.1:7233",
    namespace: "crop-map",
    uiUrl: "http://127.0.0.1:8233",
    tls: { enabled: false },
  },
  s3: { endpoint: "http://127.0.0.1:8333", region: "us-west-2", forcePathStyle: true },
  storage: {
    hls: "s3://crop-map-hls/",
    cdl: "s3://crop-map-cdl/",
    work: "s3://crop-map-work/",
    outputs: "s3://crop-map-outputs/",
  },
  archive: {
    access: "s3",
    credentialsUrl: "https://data.lpdaac.earthdatacloud.nasa.gov/s3credentials",
    httpsUrl: "https://data.lpdaac.earthdatacloud.nasa.gov/",
    cmrUrl: "https://cmr.earthdata.nasa.gov/search/",
    loginHost: "urs.earthdata.nasa.gov",
  },
  taskQueues: { ...DefaultTaskQueues },
  inference: { device: "cpu", batchSize: 8, memoryBudgetMb: 1024, checkpointEveryRows: 4 },
  workers: { cpuConcurrency: 2, inferenceConcurrency: 1 },
  mosaic: { deflateLevel: 1 },
};
