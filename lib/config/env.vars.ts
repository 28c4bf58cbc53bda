/**
 * Every environment variable the project reads, in one place. Each configuration variable
 * overrides one field of the config file (or of the embedded default).
 */
export const ConfigEnvVars = {
  CROP_MAP_TEMPORAL_ADDRESS: {
    path: ["temporal", "address"],
    kind: "string",
    doc: "Temporal frontend host:port",
  },
  CROP_MAP_TEMPORAL_NAMESPACE: { path: ["temporal", "namespace"], kind: "string", doc: "Temporal namespace" },
  CROP_MAP_TEMPORAL_UI_URL: { path: ["temporal", "uiUrl"], kind: "string", doc: "Temporal web UI base URL" },
  CROP_MAP_TEMPORAL_TLS: { path: ["temporal", "tls", "enabled"], kind: "boolean", doc: "connect with TLS" },
  CROP_MAP_TEMPORAL_TLS_SERVER_NAME: {
    path: ["temporal", "tls", "serverName"],
    kind: "string",
    doc: "TLS server name override",
  },
  CROP_MAP_TEMPORAL_TLS_CA_FILE: {
    path: ["temporal", "tls", "caFile"],
    kind: "string",
    doc: "CA bundle (PEM)",
  },
  CROP_MAP_TEMPORAL_TLS_CERT_FILE: {
    path: ["temporal", "tls", "certFile"],
    kind: "string",
    doc: "client certificate (mTLS, PEM)",
  },
  CROP_MAP_TEMPORAL_TLS_KEY_FILE: {
    path: ["temporal", "tls", "keyFile"],
    kind: "string",
    doc: "client key (mTLS, PEM)",
  },
  CROP_MAP_S3_ENDPOINT: {
    path: ["s3", "endpoint"],
    kind: "string",
    doc: "S3-compatible endpoint URL; empty for AWS",
  },
  CROP_MAP_S3_REGION: { path: ["s3", "region"], kind: "string", doc: "S3 region" },
  CROP_MAP_S3_FORCE_PATH_STYLE: {
    path: ["s3", "forcePathStyle"],
    kind: "boolean",
    doc: "path-style S3 addressing",
  },
  CROP_MAP_HLS_URL: { path: ["storage", "hls"], kind: "string", doc: "HLS archive, s3://bucket/prefix" },
  CROP_MAP_CDL_URL: { path: ["storage", "cdl"], kind: "string", doc: "CDL labels, s3://bucket/prefix" },
  CROP_MAP_WORK_URL: {
    path: ["storage", "work"],
    kind: "string",
    doc: "intermediate files, s3://bucket/prefix",
  },
  CROP_MAP_OUTPUTS_URL: {
    path: ["storage", "outputs"],
    kind: "string",
    doc: "maps and reports, s3://bucket/prefix",
  },
  CROP_MAP_ARCHIVE_ACCESS: {
    path: ["archive", "access"],
    kind: "string",
    doc: "how the HLS archive is reached: s3, earthdata-s3 or earthdata-https",
  },
  CROP_MAP_ARCHIVE_LISTING: {
    path: ["archive", "listing"],
    kind: "string",
    doc: "how granules are found: s3-list or cmr",
  },
  CROP_MAP_ARCHIVE_CREDENTIALS_URL: {
    path: ["archive", "credentialsUrl"],
    kind: "string",
    doc: "Earthdata temporary S3 credentials endpoint",
  },
  CROP_MAP_ARCHIVE_HTTPS_URL: {
    path: ["archive", "httpsUrl"],
    kind: "string",
    doc: "HTTPS root of the archive's buckets",
  },
  CROP_MAP_CMR_URL: { path: ["archive", "cmrUrl"], kind: "string", doc: "NASA CMR search root" },
  CROP_MAP_TASK_QUEUE_CPU: { path: ["taskQueues", "cpu"], kind: "string", doc: "task queue of the CPU pool" },
  CROP_MAP_TASK_QUEUE_INFERENCE: {
    path: ["taskQueues", "inference"],
    kind: "string",
    doc: "task queue of the inference pool",
  },
  CROP_MAP_INFERENCE_DEVICE: { path: ["inference", "device"], kind: "string", doc: "cpu or cuda" },
  CROP_MAP_INFERENCE_BATCH: {
    path: ["inference", "batchSize"],
    kind: "number",
    doc: "windows per model call",
  },
  CROP_MAP_INFERENCE_MEMORY_MB: {
    path: ["inference", "memoryBudgetMb"],
    kind: "number",
    doc: "memory budget of a tile's inference, MiB",
  },
  CROP_MAP_INFERENCE_CHECKPOINT_ROWS: {
    path: ["inference", "checkpointEveryRows"],
    kind: "number",
    doc: "window rows between checkpoints",
  },
  CROP_MAP_INFERENCE_EMIT_THREADS: {
    path: ["inference", "emitThreads"],
    kind: "number",
    doc: "threads that argmax finished rows (0: the main thread; unset: one per extra core, at most 4)",
  },
  CROP_MAP_INFERENCE_ALLOW_CPU_FALLBACK: {
    path: ["inference", "allowCpuFallback"],
    kind: "boolean",
    doc: "with cuda: run on the CPU when CUDA cannot start",
  },
  CROP_MAP_CPU_CONCURRENCY: {
    path: ["workers", "cpuConcurrency"],
    kind: "number",
    doc: "activities at once on a CPU worker",
  },
  CROP_MAP_INFERENCE_CONCURRENCY: {
    path: ["workers", "inferenceConcurrency"],
    kind: "number",
    doc: "tiles at once on an inference worker",
  },
  CROP_MAP_MOSAIC_DEFLATE_LEVEL: {
    path: ["mosaic", "deflateLevel"],
    kind: "number",
    doc: "zlib level of the run's mosaic COGs (1 fastest .. 9 smallest)",
  },
  CROP_MAP_WORKER_DEPLOYMENT: {
    path: ["workers", "versioning", "deploymentName"],
    kind: "string",
    doc: "Temporal Worker Deployment name (versioning on with a build id)",
  },
  CROP_MAP_WORKER_BUILD_ID: {
    path: ["workers", "versioning", "buildId"],
    kind: "string",
    doc: "build id of this worker's code (e.g. the image tag)",
  },
} as const satisfies Record<
  string,
  { path: readonly string[]; kind: "string" | "boolean" | "number"; doc: string }
>;

/** Variables that are not config fields. */
export const OtherEnvVars = {
  CROP_MAP_CONFIG: "path of a JSON config file (same shape as the config reference)",
  CROP_MAP_HOME: "folder for the local stack's data, logs and state (default: .crop-map in the repository)",
  CROP_MAP_TOOLS_DIR: "cache of installed server binaries (default: ~/.cache/crop-map/tools)",
  CROP_MAP_DEBUG: "print stack traces with errors",
  EARTHDATA_TOKEN:
    "Earthdata Login bearer token for the archive's earthdata-* access (a secret: never logged)",
  NETRC:
    "netrc file with the Earthdata Login (machine urs.earthdata.nasa.gov) when there is no token (default ~/.netrc)",
  CROP_MAP_UPDATE_SCREENSHOTS:
    "testing aid: 1 makes the viewer test write the README's screenshots (docs/viewer.png, docs/report.png)",
  CROP_MAP_TEMPORAL_API_KEY:
    "Temporal Cloud API key (a secret: read from the environment only, never from the config file)",
  CROP_MAP_WORKFLOW_BUNDLE:
    "prebuilt workflow bundle (scripts/build-workflow-bundle.ts) that workers load instead of bundling at start",
  CROP_MAP_METRICS_PORT: "worker processes serve Prometheus metrics on 0.0.0.0:<port>/metrics (unset: off)",
  CROP_MAP_LOG_FORMAT: "worker log lines as text (default) or json",
  CROP_MAP_SHUTDOWN_GRACE_SECONDS:
    "seconds a stopping worker lets in-flight activities finish before cancelling them (default 0)",
  CROP_MAP_PRELOAD_MODELS:
    "inference workers: comma-separated models to fetch and check (sha256) at start, before polling",
} as const;
