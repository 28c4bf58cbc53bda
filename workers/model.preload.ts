import type { S3Client } from "@aws-sdk/client-s3";
import type { Config } from "../lib/config/config.schema.ts";
import { loadModelManifest } from "../lib/model/model.manifest.ts";
import { loadModel } from "../lib/model/model.session.ts";

/**
 * Fetches and checks the models named in CROP_MAP_PRELOAD_MODELS before an inference worker
 * polls: each ONNX file comes from where its manifest says (an s3:// URL in a cluster: models are
 * not baked into images) and must match the manifest's sha256, else the process exits at start,
 * where a bad model shows as a failing pod rather than as failed tiles.
 */
export async function preloadModels(s3: S3Client, config: Config, env = process.env): Promise<void> {
  const names = (env.CROP_MAP_PRELOAD_MODELS ?? "")
    .split(",")
    .map((n) => n.trim())
    .filter(Boolean);
  for (const name of names) {
    const loaded = await loadModel(await loadModelManifest(name), s3, config.inference, (line) =>
      console.log(line),
    );
    console.log(`Inference:Preload model=${name} sha256=${loaded.sha256} provider=${loaded.provider}`);
  }
}
