/**
 * Dense peak tensor throughput of common NVIDIA GPUs, TFLOP/s, from NVIDIA's datasheets (without
 * sparsity): `fp32` is TF32, which onnxruntime's CUDA execution provider uses for float32 matmuls
 * and convolutions by default (T4 and V100 have no TF32: their plain FP32), `fp16` is FP16 with
 * FP32 accumulation. Matched on the name nvidia-smi prints, most specific first.
 */
export const GpuPeaks: readonly { match: RegExp; label: string; fp32: number; fp16: number }[] = [
  { match: /H100.*PCIe/i, label: "H100 PCIe", fp32: 378, fp16: 756 },
  { match: /H100|H200|GH200/i, label: "H100/H200 SXM", fp32: 494.7, fp16: 989.4 },
  { match: /A100/i, label: "A100", fp32: 156, fp16: 312 },
  { match: /L40S/i, label: "L40S", fp32: 183, fp16: 362 },
  { match: /\bL4\b/i, label: "L4", fp32: 60, fp16: 121 },
  { match: /\bA10\b/i, label: "A10", fp32: 62.5, fp16: 125 },
  { match: /T4\b/i, label: "T4", fp32: 8.1, fp16: 65 },
  { match: /V100/i, label: "V100", fp32: 15.7, fp16: 125 },
];

/** The peaks of the GPU nvidia-smi names, if it is in the table. */
export function gpuPeak(name: string) {
  return GpuPeaks.find((g) => g.match.test(name));
}
