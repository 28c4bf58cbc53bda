import type { Config } from "../../lib/config/config.schema.ts";
import { formatS3Url } from "../../lib/core/s3.url.ts";

/**
 * The environment that points a separate crop-map process (a child worker in a test, a worker
 * container) at the same servers, buckets and queues as `config`.
 */
export function configEnv(config: Config): Record<string, string> {
  return {
    CROP_MAP_TEMPORAL_ADDRESS: config.temporal.address,
    CROP_MAP_TEMPORAL_NAMESPACE: config.temporal.namespace,
    CROP_MAP_TEMPORAL_UI_URL: config.temporal.uiUrl,
    CROP_MAP_S3_ENDPOINT: config.s3.endpoint ?? "",
    CROP_MAP_HLS_URL: formatS3Url(config.storage.hls),
    CROP_MAP_CDL_URL: formatS3Url(config.storage.cdl),
    CROP_MAP_WORK_URL: formatS3Url(config.storage.work),
    CROP_MAP_OUTPUTS_URL: formatS3Url(config.storage.outputs),
    CROP_MAP_TASK_QUEUE_CPU: config.taskQueues.cpu,
    CROP_MAP_TASK_QUEUE_INFERENCE: config.taskQueues.inference,
  };
}
