import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { S3Client } from "@aws-sdk/client-s3";
import * as ort from "onnxruntime-node";
import { getBytes } from "../storage/s3.objects.ts";
import { parseS3Url } from "../storage/s3.url.ts";
import { type ModelManifest, onnxLocation } from "./model.manifest.ts";

/** The ONNX file disagrees with its manifest: checksum, input or output. */
export class ModelMismatchError extends Error {}

export interface LoadedModel {
  manifest: ModelManifest;
  session: ort.InferenceSession;
  /** The execution provider the session runs on. */
  provider: "cuda" | "cpu";
  sha256: string;
}

function dims(meta: ort.InferenceSession.ValueMetadata | undefined): readonly (number | string)[] {
  return meta && "shape" in meta ? meta.shape : [];
}

/** Checks the graph's input and output against the manifest; a named dimension matches any size. */
export function checkGraph(manifest: ModelManifest, session: ort.InferenceSession): void {
  const where = `model ${manifest.name}`;
  const { input, output, chip } = manifest;
  if (!session.inputNames.includes(input.name)) {
    throw new ModelMismatchError(
      `${where}: graph inputs are [${session.inputNames.join(", ")}], manifest input.name is '${input.name}'`,
    );
  }
  if (!session.outputNames.includes(output.name)) {
    throw new ModelMismatchError(
      `${where}: graph outputs are [${session.outputNames.join(", ")}], manifest output.name is '${output.name}'`,
    );
  }
  const expect = (actual: readonly (number | string)[], wanted: number[], field: string) => {
    if (actual.length !== 4)
      throw new ModelMismatchError(
        `${where}: ${field} has shape [${actual.join(", ")}], expected 4 dimensions (NCHW)`,
      );
    wanted.forEach((w, i) => {
      const a = actual[i + 1];
      if (typeof a === "number" && a !== w) {
        throw new ModelMismatchError(
          `${where}: ${field} has shape [${actual.join(", ")}], manifest says [batch, ${wanted.join(", ")}]`,
        );
      }
    });
  };
  const inputMeta = session.inputMetadata.find((m) => m.name === input.name);
  const outputMeta = session.outputMetadata.find((m) => m.name === output.name);
  expect(dims(inputMeta), [input.channels, chip.size, chip.size], `input '${input.name}'`);
  expect(dims(outputMeta), [output.classes, chip.size, chip.size], `output '${output.name}'`);
}

async function readModelBytes(manifest: ModelManifest, s3: S3Client): Promise<Uint8Array> {
  const location = onnxLocation(manifest);
  if (location.startsWith("s3://")) {
    const { bucket, prefix } = parseS3Url(location);
    return getBytes(s3, { bucket, key: prefix.replace(/\/$/, "") });
  }
  try {
    return await readFile(location);
  } catch {
    throw new ModelMismatchError(`model ${manifest.name}: ONNX file ${location} cannot be read`);
  }
}

const sessions = new Map<string, Promise<LoadedModel>>();

/**
 * One session per model per worker process, shared by every activity. "cuda" asks for the CUDA
 * execution provider and falls back to the CPU when it cannot start; the log says which ran.
 */
export function loadModel(
  manifest: ModelManifest,
  s3: S3Client,
  device: "cpu" | "cuda",
  log: (line: string) => void,
): Promise<LoadedModel> {
  const key = `${manifest.name}:${manifest.sha256}:${device}`;
  let loaded = sessions.get(key);
  if (!loaded) {
    loaded = (async () => {
      if (manifest.sha256 === "unset") {
        throw new ModelMismatchError(
          `model ${manifest.name}: its manifest has no sha256; export the model and record the file's sha256`,
        );
      }
      const bytes = await readModelBytes(manifest, s3);
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      if (sha256 !== manifest.sha256) {
        throw new ModelMismatchError(
          `model ${manifest.name}: ONNX file has sha256 ${sha256}, manifest says ${manifest.sha256}`,
        );
      }
      let session: ort.InferenceSession;
      let provider: "cuda" | "cpu" = "cpu";
      if (device === "cuda") {
        try {
          session = await ort.InferenceSession.create(bytes, { executionProviders: ["cuda"] });
          provider = "cuda";
        } catch (error) {
          log(
            `Inference:Session model=${manifest.name} cuda unavailable (${(error as Error).message.split("\n")[0]}); using cpu`,
          );
          session = await ort.InferenceSession.create(bytes, { executionProviders: ["cpu"] });
        }
      } else {
        session = await ort.InferenceSession.create(bytes, { executionProviders: ["cpu"] });
      }
      checkGraph(manifest, session);
      log(`Inference:Session model=${manifest.name} provider=${provider} sha256=${sha256.slice(0, 12)}`);
      return { manifest, session, provider, sha256 };
    })();
    // A failed load is not cached: the next activity tries again (or fails the same way).
    loaded.catch(() => sessions.delete(key));
    sessions.set(key, loaded);
  }
  return loaded;
}
