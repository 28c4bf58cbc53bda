import { z } from "zod";
import { S3UrlParser } from "../storage/s3.url.ts";

/** Connection to the Temporal frontend. */
export const TemporalConfigParser = z
  .object({
    /** host:port of the frontend gRPC service. */
    address: z.string().regex(/^[^\s:/]+:\d{1,5}$/, "expected host:port"),
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
    /** Memory a tile's inference may use (MiB): caps the batch so inputs, outputs and held logit rows fit. */
    memoryBudgetMb: z.number().int().min(64),
    /** Window rows between checkpoints that a retried activity resumes from. */
    checkpointEveryRows: z.number().int().min(1),
    /**
     * With device "cuda": run on the CPU when CUDA cannot start. Off by default, so a GPU worker
     * that would silently run on the CPU (a cost disaster at state scale) fails at start instead.
     */
    allowCpuFallback: z.boolean().default(false),
  })
  .strict();

export const WorkersConfigParser = z
  .object({
    /** Activities at once on a CPU-pool worker (each stages or reads a whole tile). */
    cpuConcurrency: z.number().int().min(1),
    /** Tiles at once on an inference-pool worker (one model session is shared). */
    inferenceConcurrency: z.number().int().min(1),
  })
  .strict();

export const ConfigParser = z
  .object({
    temporal: TemporalConfigParser,
    s3: S3ConfigParser,
    storage: StorageConfigParser,
    taskQueues: TaskQueuesConfigParser,
    inference: InferenceConfigParser,
    workers: WorkersConfigParser,
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
  taskQueues: { cpu: "crop-map-cpu", inference: "crop-map-inference" },
  inference: { device: "cpu", batchSize: 8, memoryBudgetMb: 1024, checkpointEveryRows: 4 },
  workers: { cpuConcurrency: 2, inferenceConcurrency: 1 },
};
