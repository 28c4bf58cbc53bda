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
  CROP_MAP_INFERENCE_ROW_DELAY_MS:
    "testing aid: pause after each window row of inference, to stop a worker mid-tile",
} as const;
