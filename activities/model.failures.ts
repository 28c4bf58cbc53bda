import { ModelManifestError } from "../lib/model/model.manifest.ts";
import { ModelMismatchError } from "../lib/model/model.session.ts";
import { nonRetryable } from "./activity.failures.ts";

/**
 * A manifest that does not parse or a model file that does not match it fails the activity for
 * good (ModelMismatch); anything else is retried. DeviceUnavailableError stays retryable: another
 * worker may have the GPU (this one should not have started: checkInferenceDevice at worker start).
 */
export async function asModelFailure<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof ModelManifestError || error instanceof ModelMismatchError)
      throw nonRetryable("ModelMismatch", error.message);
    throw error;
  }
}
