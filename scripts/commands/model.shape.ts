import type { Config } from "../../lib/config/config.schema.ts";
import { formatS3Url } from "../../lib/core/s3.url.ts";
import { ModelManifestError, ModelsDir, registeredManifestKey } from "../../lib/model/model.manifest.ts";
import { pipelineShape } from "../../lib/series/series.manifest.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { InputError } from "../cli.errors.ts";

/**
 * What a run or tile needs of the model it names, checked before anything starts: a manifest in
 * models/, or else one the training workflow registered in the outputs location. A name found in
 * neither, or one the registry could not be asked about (S3 down), is the user's to fix: one line,
 * exit 2, naming both places.
 */
export async function modelShape(name: string, config: Config): ReturnType<typeof pipelineShape> {
  const s3 = createS3Client(config);
  try {
    return await pipelineShape(name, ModelsDir, { s3, location: config.storage.outputs });
  } catch (error) {
    if (error instanceof ModelManifestError) throw new InputError(error.message);
    const registry = formatS3Url(config.storage.outputs, registeredManifestKey(name));
    // S3's own refusals by name (AccessDenied); a connection that failed as S3 not answering.
    const named = (error as Error).name;
    const why =
      /^[A-Z][A-Za-z]+$/.test(named) && !["Error", "TypeError"].includes(named)
        ? `S3 refused (${named})`
        : `S3 at ${config.s3.endpoint ?? "its endpoint"} did not answer`;
    throw new InputError(
      `model '${name}' is not in ${ModelsDir} (no ${name}.json), and the model registry (${registry}) could not be read: ${why}`,
    );
  } finally {
    s3.destroy();
  }
}
