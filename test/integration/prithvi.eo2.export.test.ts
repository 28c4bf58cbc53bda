import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExportDir, ensureExportEnv } from "../../lib/model/export.env.ts";
import { exportModel } from "../../lib/model/model.export.ts";
import { loadModelManifest, type ModelManifest } from "../../lib/model/model.manifest.ts";
import { type BatchCoords, loadModel, runBatch } from "../../lib/model/model.session.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { testConfig } from "../support/test.config.ts";

// Prithvi-EO-2.0 (models/export/prithvi_eo2_export.py, PyTorch from PyPI) at its reduced size and
// a 64 px window: the operators of the full models (3D patch embedding, the TL date and place
// encodings, four neck levels, the whole UPerNet) with fewer, narrower layers.
const run = promisify(execFile);
const s3 = createS3Client(testConfig("prithvi-eo2"));
const quiet = () => {};
const side = 64;
let dir: string;
let manifest: ModelManifest;
let report: Awaited<ReturnType<typeof exportModel>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "prithvi-eo2-"));
  report = await exportModel(
    "prithvi-eo2-300m-tl",
    {
      out: dir,
      size: "reduced",
      seed: 5,
      imgSize: side,
      parityBatches: "2,3",
      writeCheckpoint: join(dir, "whole.pt"),
      writeBackbone: join(dir, "backbone.pt"),
    },
    quiet,
  );
  manifest = await loadModelManifest(report.name, dir);
}, 300_000);

afterAll(() => s3.destroy());

/** `batch` windows of the chip's shape, each window's dates and place. */
function coordsOf(batch: number, dates: [number, number][], place: [number, number]): BatchCoords {
  return {
    temporal: Float32Array.from(Array.from({ length: batch }, () => dates.flat()).flat()),
    location: Float32Array.from({ length: batch * 2 }, (_, i) => place[i % 2] as number),
  };
}

const datesOf = (days: number[]): [number, number][] => days.map((d) => [2022, d]);

describe("the Prithvi-EO-2.0 export", () => {
  it("exports the TL architecture with its date and place inputs in the manifest, matching PyTorch", async () => {
    expect(manifest.name).toBe("prithvi-eo2-300m-tl-reduced-random");
    expect(manifest.coords).toEqual({ temporal: "temporal_coords", location: "location_coords" });
    expect(manifest.chip).toEqual({ size: side, stride: side / 2 });
    expect(report.parity.relativeLogitDiff).toBeLessThanOrEqual(1e-4);
    expect(report.parity.argmaxAgreement).toBeGreaterThanOrEqual(0.999);
    const loaded = await loadModel(manifest, s3, { device: "cpu", modelsDir: dir }, quiet);
    const chips = Float32Array.from({ length: 2 * 18 * side * side }, (_, i) => Math.sin(i / 97));
    const july = await runBatch(loaded, chips, 2, coordsOf(2, datesOf([100, 160, 220]), [41.6, -93.6]));
    expect(july.length).toBe(2 * 13 * side * side);
    // The dates and places reach the logits: another day, a day's shift (0- against 1-based), the
    // place's coordinates swapped each give other logits.
    const gap = async (coords: BatchCoords) => {
      const other = await runBatch(loaded, chips, 2, coords);
      return Math.max(...other.map((v, i) => Math.abs(v - (july[i] as number))));
    };
    expect(await gap(coordsOf(2, datesOf([100, 160, 221]), [41.6, -93.6]))).toBeGreaterThan(1e-4);
    expect(await gap(coordsOf(2, datesOf([99, 159, 219]), [41.6, -93.6]))).toBeGreaterThan(1e-4);
    expect(await gap(coordsOf(2, datesOf([100, 160, 220]), [-93.6, 41.6]))).toBeGreaterThan(1e-4);
    expect(await gap(coordsOf(2, datesOf([100, 160, 220]), [41.6, -93.6]))).toBe(0);
    // A TL graph is never run without its dates and places, nor with another frame count.
    await expect(runBatch(loaded, chips, 2)).rejects.toThrow(
      "takes 12 date values and 4 place values, got 0",
    );
    await expect(runBatch(loaded, chips, 2, coordsOf(2, datesOf([100, 160]), [41.6, -93.6]))).rejects.toThrow(
      "got 8 and 4",
    );
  });

  it("refuses a TL graph whose manifest does not declare its coords, or declares another frame count", async () => {
    const { coords: _, ...bare } = manifest;
    await expect(loadModel(bare, s3, { device: "cpu", modelsDir: dir }, quiet)).rejects.toThrow(
      "include temporal_coords, location_coords, which the manifest does not declare",
    );
    const fourDates = { ...manifest, dates: 4, input: { ...manifest.input, channels: 24 } };
    await expect(loadModel(fourDates, s3, { device: "cpu", modelsDir: dir }, quiet)).rejects.toThrow(
      "input 'temporal_coords' has shape [batch, 3, 2], manifest says [batch, 4, 2] (dates 4)",
    );
  });

  it("loads its whole-model checkpoint strictly, and a pretrained backbone's encoder, to the same bytes", async () => {
    const again = await mkdtemp(join(tmpdir(), "prithvi-eo2-"));
    const options = { size: "reduced", seed: 5, imgSize: side, parityBatches: "1" } as const;
    const whole = await exportModel(
      "prithvi-eo2-300m-tl",
      { ...options, out: again, checkpoint: join(dir, "whole.pt") },
      quiet,
    );
    expect(whole.name).toBe("prithvi-eo2-300m-tl-reduced");
    expect(whole.sha256).toBe(report.sha256);
    // The backbone file in the pretrained layout (MAE decoder included) over the same seeded decoder and head.
    const fromBackbone = await exportModel(
      "prithvi-eo2-300m-tl",
      { ...options, out: again, backbone: join(dir, "backbone.pt") },
      quiet,
    );
    expect(fromBackbone.sha256).toBe(report.sha256);
    expect((await readFile(fromBackbone.onnx)).equals(await readFile(join(dir, `${report.name}.onnx`)))).toBe(
      true,
    );
  });

  it("refuses a backbone with missing, unexpected or misshapen keys, listing them", async () => {
    const python = await ensureExportEnv();
    const bad = join(dir, "bad.pt");
    await run(python, [
      "-c",
      `import torch; s = torch.load(${JSON.stringify(join(dir, "backbone.pt"))}); ` +
        `s.pop("encoder.location_embed_enc.scale"); s.pop("decoder.mask_token"); s["encoder.extra"] = torch.zeros(1); ` +
        `s["encoder.blocks.0.mlp.fc1.weight"] = torch.zeros(3, 3); torch.save(s, ${JSON.stringify(bad)})`,
    ]);
    await expect(
      exportModel(
        "prithvi-eo2-300m-tl",
        { out: join(dir, "refused"), size: "reduced", imgSize: side, backbone: bad },
        quiet,
      ),
    ).rejects.toThrow(
      "missing keys (2): decoder.mask_token, encoder.location_embed_enc.scale | unexpected keys (1): encoder.extra | shape mismatches (1): encoder.blocks.0.mlp.fc1.weight: checkpoint [3, 3], model [128, 32]",
    );
    // A non-TL model refuses a TL backbone: its date and place scales are keys it does not have.
    await expect(
      exportModel(
        "prithvi-eo2-300m",
        { out: join(dir, "refused"), size: "reduced", imgSize: side, backbone: join(dir, "backbone.pt") },
        quiet,
      ),
    ).rejects.toThrow(
      "unexpected keys (4): decoder.location_embed_dec.scale, decoder.temporal_embed_dec.scale, encoder.location_embed_enc.scale, encoder.temporal_embed_enc.scale",
    );
    await expect(
      exportModel("prithvi-crop-100m", { out: join(dir, "refused"), backbone: bad }, quiet),
    ).rejects.toThrow("--backbone: Prithvi-EO-2.0's option, not prithvi-crop-100m's");
    // The 600M's float32 weights do not fit one ONNX file, which is what the pipeline loads.
    await expect(exportModel("prithvi-eo2-600m", { out: join(dir, "refused") }, quiet)).rejects.toThrow(
      "prithvi-eo2-600m full in fp32: 2.44 GiB of weights, over ONNX's 2 GiB single file (the pipeline loads one file); export it with --precision fp16",
    );
  });
});

/**
 * The keys of the pretrained files as the public code builds them (TerraTorch's PrithviMAE:
 * `encoder.` PrithviViT with timm blocks, `decoder.` MAEDecoder; prithvi_vit.py's configurations),
 * written out here independently of the export script.
 */
function publicBackboneKeys(o: {
  dim: number;
  depth: number;
  patch: number;
  tl: boolean;
}): Record<string, number[]> {
  const tokens = 1 + 4 * (224 / o.patch) ** 2; // pretrained on 4 frames of 224 px
  const keys: Record<string, number[]> = {};
  const block = (prefix: string, d: number) => {
    const shapes: Record<string, number[]> = {
      "norm1.weight": [d],
      "norm1.bias": [d],
      "attn.qkv.weight": [3 * d, d],
      "attn.qkv.bias": [3 * d],
      "attn.proj.weight": [d, d],
      "attn.proj.bias": [d],
      "norm2.weight": [d],
      "norm2.bias": [d],
      "mlp.fc1.weight": [4 * d, d],
      "mlp.fc1.bias": [4 * d],
      "mlp.fc2.weight": [d, 4 * d],
      "mlp.fc2.bias": [d],
    };
    for (const [k, v] of Object.entries(shapes)) keys[`${prefix}.${k}`] = v;
  };
  keys["encoder.cls_token"] = [1, 1, o.dim];
  keys["encoder.pos_embed"] = [1, tokens, o.dim];
  keys["encoder.patch_embed.proj.weight"] = [o.dim, 6, 1, o.patch, o.patch];
  keys["encoder.patch_embed.proj.bias"] = [o.dim];
  for (let i = 0; i < o.depth; i++) block(`encoder.blocks.${i}`, o.dim);
  keys["encoder.norm.weight"] = [o.dim];
  keys["encoder.norm.bias"] = [o.dim];
  keys["decoder.decoder_embed.weight"] = [512, o.dim];
  keys["decoder.decoder_embed.bias"] = [512];
  keys["decoder.mask_token"] = [1, 1, 512];
  keys["decoder.decoder_pos_embed"] = [1, tokens, 512];
  for (let i = 0; i < 8; i++) block(`decoder.decoder_blocks.${i}`, 512);
  keys["decoder.decoder_norm.weight"] = [512];
  keys["decoder.decoder_norm.bias"] = [512];
  keys["decoder.decoder_pred.weight"] = [o.patch * o.patch * 6, 512];
  keys["decoder.decoder_pred.bias"] = [o.patch * o.patch * 6];
  if (o.tl)
    for (const k of [
      "encoder.temporal_embed_enc.scale",
      "encoder.location_embed_enc.scale",
      "decoder.temporal_embed_dec.scale",
      "decoder.location_embed_dec.scale",
    ])
      keys[k] = [1];
  return keys;
}

describe("the pretrained backbones' key names", () => {
  const variants = [
    { model: "prithvi-eo2-300m", file: "Prithvi_EO_V2_300M.pt", dim: 1024, depth: 24, patch: 16, tl: false },
    {
      model: "prithvi-eo2-300m-tl",
      file: "Prithvi_EO_V2_300M_TL.pt",
      dim: 1024,
      depth: 24,
      patch: 16,
      tl: true,
    },
    { model: "prithvi-eo2-600m", file: "Prithvi_EO_V2_600M.pt", dim: 1280, depth: 32, patch: 14, tl: false },
    {
      model: "prithvi-eo2-600m-tl",
      file: "Prithvi_EO_V2_600M_TL.pt",
      dim: 1280,
      depth: 32,
      patch: 14,
      tl: true,
    },
  ];

  it("are the public code's for each full model (300M, 600M, TL), the fine-tuned model's encoder keyed as they are", async () => {
    const python = await ensureExportEnv();
    // --list-keys builds each model on PyTorch's meta device (no weights) and exits before exporting.
    const listing = ["--list-keys", "--out", dir, "--name", "keys", "--manifest-template", "-"];
    const { stdout } = await run(python, [join(ExportDir, "prithvi_eo2_export.py"), ...listing], {
      maxBuffer: 16 * 2 ** 20,
    });
    const listed = JSON.parse(stdout) as Record<
      string,
      { backboneFile: string; backbone: Record<string, number[]>; fineTuned: Record<string, number[]> }
    >;
    expect(Object.keys(listed).sort()).toEqual(variants.map((v) => v.model).sort());
    for (const v of variants) {
      const keys = listed[v.model] as (typeof listed)[string];
      expect(keys.backboneFile).toBe(v.file);
      expect(keys.backbone).toEqual(publicBackboneKeys(v));
      // 12 per block, 4 more, 2 each for TL's scales, the MAE decoder's 8 blocks and 8 more.
      expect(Object.keys(keys.backbone).length).toBe(12 * v.depth + 4 + 2 + (v.tl ? 4 : 0) + 12 * 8 + 8);
      // The fine-tuned model's encoder has the backbone's encoder keys; its decoder and head are TerraTorch's UPerNet's.
      const encoder = Object.keys(keys.backbone).filter((k) => k.startsWith("encoder."));
      expect(Object.keys(keys.fineTuned).filter((k) => k.startsWith("encoder."))).toEqual(encoder);
      expect(keys.fineTuned["decoder.psp_modules.3.1.conv.weight"]).toEqual([256, 3 * v.dim, 1, 1]);
      expect(keys.fineTuned["decoder.bottleneck.conv.weight"]).toEqual([256, 3 * v.dim + 4 * 256, 3, 3]);
      expect(keys.fineTuned["decoder.lateral_convs.2.norm.running_var"]).toEqual([256]);
      expect(keys.fineTuned["decoder.fpn_bottleneck.conv.weight"]).toEqual([256, 1024, 3, 3]);
      expect(keys.fineTuned["head.head.2.weight"]).toEqual([13, 256, 1, 1]);
    }
  });
});
