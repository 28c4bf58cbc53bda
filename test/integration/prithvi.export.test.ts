import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Client } from "@temporalio/client";
import type { NativeConnection } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TileManifest } from "../../lib/contracts/tile.contract.ts";
import { ensureExportEnv } from "../../lib/model/export.env.ts";
import { exportModel } from "../../lib/model/model.export.ts";
import { loadModelManifest, type ModelManifest } from "../../lib/model/model.manifest.ts";
import { loadModel, runBatch } from "../../lib/model/model.session.ts";
import { readStackHeader } from "../../lib/pipeline/stack.reader.ts";
import { openCog, readRaster } from "../../lib/raster/cog.reader.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { ref } from "../../lib/storage/s3.objects.ts";
import { s3Source } from "../../lib/storage/s3.source.ts";
import { planWorld } from "../../scripts/synth/world.plan.ts";
import { createInferenceWorker } from "../../workers/worker.factory.ts";
import { type CpuPool, startCpuPool } from "../support/cpu.pool.ts";
import { recomputedAgreement, stagedStack } from "../support/slide.recompute.ts";
import { testConfig } from "../support/test.config.ts";
import { writeTestWorld } from "../support/test.world.ts";
import { tileWithModel } from "../support/tile.input.ts";

// The Prithvi export (models/export/prithvi_export.py, PyTorch from PyPI) at its reduced size: the
// same operators as the seed's architecture with fewer, narrower layers, seeded random weights.
// The full size is exported and timed by scripts/bench/prithvi.bench.ts (1.3 TFLOP a window is
// minutes of CPU per tile row, too slow for the test budget).
const config = testConfig("prithvi");
const s3 = createS3Client(config);
const quiet = () => {};
let dir: string;
let exported: ModelManifest;
let report: Awaited<ReturnType<typeof exportModel>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "prithvi-"));
  report = await exportModel(
    "prithvi-crop-100m",
    { out: dir, size: "reduced", seed: 5, parityBatches: "2,1,3", writeCheckpoint: join(dir, "reduced.pth") },
    quiet,
  );
  exported = await loadModelManifest(report.name, dir);
}, 900_000);

afterAll(() => s3.destroy());

describe("the Prithvi export", () => {
  it("exports the architecture with a manifest carrying its sha256, matching PyTorch", async () => {
    expect(exported.name).toBe("prithvi-crop-reduced-random");
    expect(exported.description).toContain("SEEDED RANDOM WEIGHTS");
    expect(report.parity.maxAbsLogitDiff).toBeLessThanOrEqual(1e-4);
    expect(report.parity.argmaxAgreement).toBeGreaterThanOrEqual(0.999);
    // The manifest is the pipeline's: its graph checks pass at load, and batches of any size come back [B, 13, 224, 224].
    const loaded = await loadModel(exported, s3, { device: "cpu", modelsDir: dir }, quiet);
    for (const batch of [1, 3]) {
      const logits = await runBatch(loaded, new Float32Array(batch * 18 * 224 * 224), batch);
      expect(logits.length).toBe(batch * 13 * 224 * 224);
    }
  });

  it("loads an mmseg-layout checkpoint strictly, dropping the auxiliary head, to the same bytes", async () => {
    const again = await mkdtemp(join(tmpdir(), "prithvi-"));
    const fromCheckpoint = await exportModel(
      "prithvi-crop-100m",
      { out: again, size: "reduced", seed: 5, checkpoint: join(dir, "reduced.pth"), parityBatches: "1" },
      quiet,
    );
    expect(fromCheckpoint.name).toBe("prithvi-crop-reduced");
    expect(fromCheckpoint.sha256).toBe(report.sha256);
    expect(
      (await readFile(join(again, "prithvi-crop-reduced.onnx"))).equals(
        await readFile(join(dir, `${report.name}.onnx`)),
      ),
    ).toBe(true);
  });

  it("exports half precision behind float32 inputs and outputs, its agreement with float32 in the manifest", async () => {
    // A 32 px window keeps the export to seconds; the operators are the 224 px model's.
    const half = await mkdtemp(join(tmpdir(), "prithvi-fp16-"));
    const options = { out: half, size: "reduced", seed: 5, imgSize: 32, parityBatches: "4" } as const;
    const fp16 = await exportModel("prithvi-crop-100m", { ...options, precision: "fp16" }, quiet);
    expect(fp16.name).toBe("prithvi-crop-reduced-fp16-random");
    const manifest = await loadModelManifest(fp16.name, half);
    expect(manifest.description).toContain("float32 inputs and outputs");
    expect(manifest.precision).toMatchObject({ graph: "fp16", inputs: "float32", outputs: "float32" });
    const agreement = manifest.precision?.agreementWithFp32;
    expect(agreement?.argmaxAgreement).toBeGreaterThanOrEqual(0.99);
    // Half arithmetic for real: float32 parity is about 1e-6 of the logits, fp16 about 1e-3.
    expect(agreement?.relativeLogitDiff).toBeGreaterThan(1e-4);
    expect(agreement?.relativeLogitDiff).toBeLessThan(1e-2);
    // The pipeline feeds it float32 and gets float32 back, as from any model.
    const loaded = await loadModel(manifest, s3, { device: "cpu", modelsDir: half }, quiet);
    const logits = await runBatch(loaded, new Float32Array(2 * 18 * 32 * 32).fill(0.5), 2);
    expect(logits).toBeInstanceOf(Float32Array);
    expect(logits.length).toBe(2 * 13 * 32 * 32);
  });

  it("refuses a checkpoint with missing or unexpected keys, listing them", async () => {
    const python = await ensureExportEnv();
    const bad = join(dir, "bad.pth");
    await promisify(execFile)(python, [
      "-c",
      `import torch; c = torch.load(${JSON.stringify(join(dir, "reduced.pth"))}, weights_only=False); s = c["state_dict"]; ` +
        `s.pop("neck.fpn1.0.bias"); s.pop("backbone.blocks.1.attn.qkv.weight"); s["decode_head.extra.weight"] = torch.zeros(1); ` +
        `torch.save(c, ${JSON.stringify(bad)})`,
    ]);
    await expect(
      exportModel(
        "prithvi-crop-100m",
        { out: join(dir, "refused"), size: "reduced", checkpoint: bad },
        quiet,
      ),
    ).rejects.toThrow(
      "missing keys (2): backbone.blocks.1.attn.qkv.weight, neck.fpn1.0.bias | unexpected keys (1): decode_head.extra.weight",
    );
    await expect(
      exportModel(
        "prithvi-crop-100m",
        { out: join(dir, "refused"), checkpoint: join(dir, "nope.pth") },
        quiet,
      ),
    ).rejects.toThrow("--checkpoint");
  });
});

describe("the Prithvi architecture through the real pipeline", () => {
  let connection: NativeConnection;
  let client: Client;
  let pool: CpuPool | undefined;

  beforeAll(async () => {
    await writeTestWorld(
      planWorld({
        state: "RI",
        year: 2022,
        scale: "small",
        seed: 3,
        season: { start: "04-01", end: "10-31" },
      }),
      { s3, config },
    );
    pool = await startCpuPool(config, s3);
    ({ connection, client } = pool);
  });

  afterAll(async () => {
    await pool?.stop();
  });

  it("maps a tile (meaningless classes, exact path): equal to the slide recomputed from the stack", async () => {
    const inference = await createInferenceWorker({ connection, config, s3, modelsDir: dir });
    const manifest = (await inference.runUntil(
      client.workflow.execute("tileWorkflow", {
        taskQueue: config.taskQueues.cpu,
        workflowId: "prithvi-19TCG",
        args: [tileWithModel(config, exported, "prithvi/19TCG/")],
      }),
    )) as TileManifest;
    expect(manifest.model).toMatchObject({ name: exported.name, sha256: exported.sha256, provider: "cpu" });
    expect(manifest.windows.run).toBeGreaterThan(0);
    expect(manifest.pixels.mapped).toBeGreaterThan(0);

    // The map recomputed here, independently of the pipeline's code (window 224, stride 112).
    const stackRef = await stagedStack(s3, config.storage.work);
    const header = await readStackHeader(s3, stackRef);
    const map = await readRaster(
      await openCog(s3Source(s3, ref(config.storage.outputs, "prithvi/19TCG/classes.tif"))),
    );
    expect([map.width, map.height]).toEqual([header.grid.width, header.grid.height]);
    const loaded = await loadModel(exported, s3, { device: "cpu", modelsDir: dir }, quiet);
    const { compared, equal } = await recomputedAgreement(
      s3,
      stackRef,
      exported,
      map.data as Uint8Array,
      (chip) => runBatch(loaded, chip, 1),
    );
    expect(compared).toBeGreaterThan(1000);
    // Batches of 8 in the pipeline against batches of 1 here may differ in the last bits: near-ties only.
    expect(equal / compared).toBeGreaterThan(0.999);
  });
});
