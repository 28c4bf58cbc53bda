import type { Config } from "../config/config.schema.ts";
import { createS3Client } from "../storage/s3.client.ts";
import type { ModelRegistry } from "./model.manifest.ts";

/** The registry a CLI command looks trained models up in: the configured outputs location. */
export function registryOf(config: Config): ModelRegistry {
  return { s3: createS3Client(config), location: config.storage.outputs };
}
