import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { S3Client } from "@aws-sdk/client-s3";
import type * as ort from "onnxruntime-node";
import { parseS3Url } from "../core/s3.url.ts";
import { getBytes } from "../storage/s3.objects.ts";
import { loadModelManifest, type ModelManifest, ModelsDir, onnxLocation } from "./model.manifest.ts";
import { type BatchResult, type Feed, type GraphInfo, ModelThread } from "./model.thread.ts";

/** The ONNX file disagrees with its manifest (checksum, input, output), or is not ONNX at all. */
export class ModelMismatchError extends Error {}

/** CUDA was asked for and did not start, and the config does not allow running on the CPU instead. */
export class DeviceUnavailableError extends Error {}

/** What loading needs of any model family's manifest. */
export type ModelFile = Pick<ModelManifest, "name" | "onnx" | "sha256">;

export interface LoadedModel<M extends ModelFile = ModelManifest> {
  manifest: M;
  /** The session, on its own thread; `runBatch` is the way to call it. */
  thread: ModelThread;
  /** The execution provider the session runs on. */
  provider: "cuda" | "cpu";
  sha256: string;
}

export interface DeviceOptions {
  device: "cpu" | "cuda";
  /** Let a "cuda" request run on the CPU when CUDA cannot start (otherwise it is an error). */
  allowCpuFallback?: boolean;
  /** Where relative ONNX paths of the manifest resolve (its models/ folder). */
  modelsDir?: string;
}

function dims(meta: ort.InferenceSession.ValueMetadata | undefined): readonly (number | string)[] {
  return meta && "shape" in meta ? meta.shape : [];
}

/** Checks the graph's input and output against the manifest; a named dimension matches any size. */
export function checkGraph(manifest: ModelManifest, graph: GraphInfo): void {
  const where = `model ${manifest.name}`;
  const { input, output, chip } = manifest;
  if (!graph.inputNames.includes(input.name)) {
    throw new ModelMismatchError(
      `${where}: graph inputs are [${graph.inputNames.join(", ")}], manifest input.name is '${input.name}'`,
    );
  }
  if (!graph.outputNames.includes(output.name)) {
    throw new ModelMismatchError(
      `${where}: graph outputs are [${graph.outputNames.join(", ")}], manifest output.name is '${output.name}'`,
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
  checkCoords(manifest, graph);
  const inputMeta = graph.inputMetadata.find((m) => m.name === input.name);
  const outputMeta = graph.outputMetadata.find((m) => m.name === output.name);
  expect(dims(inputMeta), [input.channels, chip.size, chip.size], `input '${input.name}'`);
  expect(dims(outputMeta), [output.classes, chip.size, chip.size], `output '${output.name}'`);
}

/**
 * A TL graph's date and place inputs against the manifest's `coords`: [batch, dates, 2] and
 * [batch, 2], the dates the manifest's (the temporal encoding divides the tokens by the frame
 * count); a graph taking inputs the manifest does not declare is refused, never fed zeros.
 */
function checkCoords(manifest: ModelManifest, graph: GraphInfo): void {
  const where = `model ${manifest.name}`;
  const declared = [manifest.input.name, manifest.coords?.temporal, manifest.coords?.location];
  const undeclared = graph.inputNames.filter((n) => !declared.includes(n));
  if (undeclared.length > 0)
    throw new ModelMismatchError(
      `${where}: graph inputs [${graph.inputNames.join(", ")}] include ${undeclared.join(", ")}, which the manifest does not declare (coords)`,
    );
  if (!manifest.coords) return;
  const wanted: [string, number[]][] = [
    [manifest.coords.temporal, [manifest.dates, 2]],
    [manifest.coords.location, [2]],
  ];
  for (const [name, shape] of wanted) {
    if (!graph.inputNames.includes(name))
      throw new ModelMismatchError(
        `${where}: graph inputs are [${graph.inputNames.join(", ")}], manifest coords name '${name}'`,
      );
    const actual = dims(graph.inputMetadata.find((m) => m.name === name));
    const fits = actual.length === shape.length + 1 && shape.every((d, i) => actual[i + 1] === d);
    if (!fits)
      throw new ModelMismatchError(
        `${where}: input '${name}' has shape [${actual.join(", ")}], manifest says [batch, ${shape.join(", ")}] (dates ${manifest.dates})`,
      );
  }
}

/**
 * Checks a batch's logits against the manifest: a graph whose named dimensions passed the load
 * check may still give, say, 56 x 56 logits, which must be refused, not argmaxed.
 */
export function checkBatchOutput(manifest: ModelManifest, batch: number, result: BatchResult): void {
  const { classes } = manifest.output;
  const { size } = manifest.chip;
  const wanted = [batch, classes, size, size];
  if (result.dims.length !== 4 || result.dims.some((d, i) => d !== wanted[i])) {
    throw new ModelMismatchError(
      `model ${manifest.name}: output '${manifest.output.name}' came back [${result.dims.join(", ")}] for a batch of ${batch}, manifest says [${wanted.join(", ")}]`,
    );
  }
}

/**
 * A TL model's further inputs for a batch: each window's dates as (year, day of year), [batch,
 * dates, 2], and its centre as (latitude, longitude), [batch, 2] (see window.coords.ts).
 */
export interface BatchCoords {
  temporal: Float32Array;
  location: Float32Array;
}

/** The batch's further feeds: a TL model's coords, required exactly when its manifest declares them. */
function coordFeeds(manifest: ModelManifest, batch: number, coords: BatchCoords | undefined): Feed[] {
  if (!manifest.coords) {
    if (coords)
      throw new ModelMismatchError(`model ${manifest.name} takes no coords, a batch came with them`);
    return [];
  }
  const wanted = { temporal: batch * manifest.dates * 2, location: batch * 2 };
  if (coords?.temporal.length !== wanted.temporal || coords.location.length !== wanted.location)
    throw new ModelMismatchError(
      `model ${manifest.name}: a batch of ${batch} takes ${wanted.temporal} date values and ${wanted.location} place values, got ${coords?.temporal.length ?? 0} and ${coords?.location.length ?? 0}`,
    );
  return [
    { name: manifest.coords.temporal, data: coords.temporal, dims: [batch, manifest.dates, 2] },
    { name: manifest.coords.location, data: coords.location, dims: [batch, 2] },
  ];
}

async function runChecked(
  loaded: LoadedModel,
  input: Float32Array,
  batch: number,
  shared: boolean,
  coords: BatchCoords | undefined,
) {
  const { manifest } = loaded;
  const dims = [batch, manifest.input.channels, manifest.chip.size, manifest.chip.size];
  const { name } = manifest.input;
  const further = coordFeeds(manifest, batch, coords);
  const result = shared
    ? await loaded.thread.runShared(input, dims, name, manifest.output.name, further)
    : await loaded.thread.runFeeds([{ name, data: input, dims }, ...further], manifest.output.name);
  checkBatchOutput(manifest, batch, result);
  return result.data;
}

/** Runs one batch on the model's thread and checks the shape of what comes back. */
export function runBatch(
  loaded: LoadedModel,
  input: Float32Array,
  batch: number,
  coords?: BatchCoords,
): Promise<Float32Array> {
  return runChecked(loaded, input, batch, false, coords);
}

/**
 * `runBatch` on an input that sits on a SharedArrayBuffer (see ModelThread.runShared): the logits
 * come back over it when they fit, and its buffer is handed back for the caller to fill again once
 * they are read.
 */
export async function runBatchShared(
  loaded: LoadedModel,
  input: Float32Array,
  batch: number,
  coords?: BatchCoords,
): Promise<{ logits: Float32Array; buffer: ArrayBufferLike }> {
  return { logits: await runChecked(loaded, input, batch, true, coords), buffer: input.buffer };
}

async function readModelBytes(
  manifest: ModelFile,
  s3: S3Client | undefined,
  dir: string,
): Promise<Uint8Array> {
  const location = onnxLocation(manifest, dir);
  if (location.startsWith("s3://")) {
    if (!s3) throw new Error(`model ${manifest.name}: ${location} needs an S3 client`);
    const { bucket, prefix } = parseS3Url(location);
    return getBytes(s3, { bucket, key: prefix.replace(/\/$/, "") });
  }
  try {
    return await readFile(location);
  } catch {
    throw new ModelMismatchError(`model ${manifest.name}: ONNX file ${location} cannot be read`);
  }
}

const firstLine = (error: unknown) => String((error as Error)?.message ?? error).split("\n")[0];

/** Opens a session on its thread, naming the file when onnxruntime cannot parse it. */
async function open(bytes: Uint8Array, providers: string[], file: string): Promise<ModelThread> {
  try {
    return await ModelThread.open(bytes, providers);
  } catch (error) {
    if (providers.includes("cuda")) throw error;
    throw new ModelMismatchError(`${file} is not a loadable ONNX model: ${firstLine(error)}`);
  }
}

const threads = new Map<string, Promise<{ thread: ModelThread; provider: "cuda" | "cpu" }>>();

/**
 * One session per model file per worker process, shared by every activity, each on its own
 * thread; keyed by the file's sha256, so two names for one file share it and a re-exported file
 * under an old name does not. "cuda" asks for the CUDA execution provider; if it cannot start,
 * the load fails (DeviceUnavailableError) unless `allowCpuFallback`, when the CPU runs it and the
 * log says so.
 */
export async function loadModel(
  manifest: ModelManifest,
  s3: S3Client | undefined,
  options: DeviceOptions,
  log: (line: string) => void,
): Promise<LoadedModel> {
  return loadModelFile(manifest, s3, options, log, (graph) => checkGraph(manifest, graph));
}

/** `loadModel` for any family: `check` refuses a graph whose inputs and outputs do not match. */
export async function loadModelFile<M extends ModelFile>(
  manifest: M,
  s3: S3Client | undefined,
  options: DeviceOptions,
  log: (line: string) => void,
  check: (graph: GraphInfo) => void,
): Promise<LoadedModel<M>> {
  const { device, allowCpuFallback = false, modelsDir = ModelsDir } = options;
  if (manifest.sha256 === "unset") {
    throw new ModelMismatchError(
      `model ${manifest.name}: its manifest has no sha256; export the model and record the file's sha256`,
    );
  }
  const key = `${manifest.sha256}:${device}:${allowCpuFallback}`;
  let loaded = threads.get(key);
  if (!loaded) {
    loaded = (async () => {
      const file = onnxLocation(manifest, modelsDir);
      const bytes = await readModelBytes(manifest, s3, modelsDir);
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      if (sha256 !== manifest.sha256) {
        throw new ModelMismatchError(
          `model ${manifest.name}: ONNX file ${file} has sha256 ${sha256}, manifest says ${manifest.sha256}`,
        );
      }
      if (device === "cuda") {
        try {
          return { thread: await open(bytes, ["cuda"], file), provider: "cuda" as const };
        } catch (error) {
          const why = `cuda unavailable (${firstLine(error)})`;
          if (!allowCpuFallback) {
            throw new DeviceUnavailableError(
              `model ${manifest.name}: ${why}; a GPU worker will not run on the CPU unless inference.allowCpuFallback is set`,
            );
          }
          log(`Inference:Session model=${manifest.name} ${why}; using cpu (inference.allowCpuFallback)`);
        }
      }
      return { thread: await open(bytes, ["cpu"], file), provider: "cpu" as const };
    })();
    // A failed load is not cached: the next activity tries again (or fails the same way).
    loaded.catch(() => threads.delete(key));
    threads.set(key, loaded);
  }
  const { thread, provider } = await loaded;
  check(thread.graph);
  log(`Inference:Session model=${manifest.name} provider=${provider} sha256=${manifest.sha256.slice(0, 12)}`);
  return { manifest, thread, provider, sha256: manifest.sha256 };
}

/**
 * Run when an inference worker starts: with device "cuda", opens the bundled model on CUDA, so a
 * GPU host whose CUDA does not start fails at once (DeviceUnavailableError) instead of polling
 * for tiles it would run on the CPU; with `allowCpuFallback` it logs and goes on.
 */
export async function checkInferenceDevice(
  options: DeviceOptions,
  log: (line: string) => void,
): Promise<"cuda" | "cpu"> {
  if (options.device === "cpu") return "cpu";
  const manifest = await loadModelManifest("crop-tiny");
  return (
    await loadModel(manifest, undefined as unknown as S3Client, { ...options, modelsDir: ModelsDir }, log)
  ).provider;
}

/**
 * Ends every model thread of this process (a worker's shutdown): onnxruntime's thread pool on a
 * worker thread otherwise keeps a finished process from exiting.
 */
export async function closeModels(): Promise<void> {
  const all = [...threads.values()];
  threads.clear();
  await Promise.all(all.map((p) => p.then(({ thread }) => thread.close()).catch(() => {})));
}
