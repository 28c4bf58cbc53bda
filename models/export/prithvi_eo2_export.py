"""Exports Prithvi-EO-2.0 crop segmentation (300M, 600M, their TL variants) to ONNX, with a parity check.

Run through `npx crop-map model export prithvi-eo2-300m-tl [--checkpoint best.pt] --out <dir>`.
No fine-tuned EO-2.0 crop checkpoint is public: `--checkpoint` is a model fine-tuned by
`crop-map train` (the whole model, strictly by key names); without one, seeded random weights.
The architecture and its conventions are in prithvi_eo2_model.py. The graph takes `hls`
[B, 18, H, W] (time-major chips as they sit in the stacks) and, for the TL variants,
`temporal_coords` [B, 3, 2] (year, 1-based day of year of each date) and `location_coords`
[B, 2] (latitude, longitude of the window's centre, degrees); it gives `logits` [B, 13, H, W].

`--list-keys` prints, for each of the four models, the key names and shapes of its pretrained
backbone file and of the whole model, and exits; `--write-backbone` also writes the random encoder in the pretrained files'
layout, which `--backbone` (the trainer's, and tests') loads back strictly.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from export_common import (
    CheckpointError,
    export_and_record,
    export_arguments,
    logit_gap,
    parity_record,
    refuse,
    set_weights,
    sha256_of,
    weights_note,
)
from prithvi_eo2_model import (
    ARCHS,
    Arch,
    PrithviEO2Crop,
    arch_for,
    list_keys,
    load_backbone_strict,
    load_checkpoint_strict,
    parity_inputs,
    randomize,
    synthetic_backbone,
)

INPUTS = ["hls", "temporal_coords", "location_coords"]


def flops_per_window(a: Arch) -> int:
    """Multiply-adds x 2 of one window (matmuls and convolutions; norms, activations, pooling and
    resizes left out)."""
    side = a.img_size // a.patch_size
    grid = side * side
    tokens = a.frames * grid + 1
    d = a.embed_dim
    macs = a.frames * grid * d * a.bands * a.patch_size**2
    macs += a.depth * (tokens * (4 * d * d + 2 * d * int(d * a.mlp_ratio)) + 2 * tokens * tokens * d)
    c, cin, levels = a.decoder_channels, d * a.frames, len(a.out_indices)
    macs += sum(s * s * cin * c for s in a.pool_scales)  # pyramid pooling 1x1 convs
    macs += grid * 9 * (cin + len(a.pool_scales) * c) * c  # PSP bottleneck
    macs += (levels - 1) * grid * (cin * c + 9 * c * c)  # lateral and FPN convs
    macs += grid * 9 * levels * c * c + grid * c * a.classes  # fused bottleneck, head
    return 2 * macs


def weight_bytes(a: Arch, precision: str) -> int:
    """The graph's weights in bytes, counted on the meta device (nothing allocated)."""
    with torch.device("meta"):
        model = PrithviEO2Crop(a)
    return sum(t.numel() for t in model.state_dict().values()) * (2 if precision == "fp16" else 4)


def backbone_note(source: dict) -> str:
    b = source.get("backbone")
    return f", the encoder from {b['file']} (sha256 {b['sha256'][:12]}), decoder and head not trained" if b else ""


def parity(model: PrithviEO2Crop, onnx_path: Path, a: Arch, batches: list[int], seed: int) -> dict:
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(seed)
    worst = scale = 0.0
    agree = total = 0
    for b in batches:
        inputs = parity_inputs(a, b, g)
        with torch.no_grad():
            expected = model(*inputs).numpy()
        got = session.run(["logits"], {n: t.numpy() for n, t in zip(INPUTS, inputs)})[0]
        if got.shape != (b, a.classes, a.img_size, a.img_size):
            raise SystemExit(f"ONNX logits have shape {list(got.shape)} for a batch of {b}")
        worst = max(worst, logit_gap(got, expected))
        scale = max(scale, float(np.abs(expected).max()))
        agree += int((got.argmax(1) == expected.argmax(1)).sum())
        total += b * a.img_size * a.img_size
    return parity_record(batches, worst, scale, agree, total)


def main() -> int:
    parser = export_arguments(__doc__.split("\n")[0], "also write the weights as a whole-model checkpoint")
    parser.add_argument("--model", choices=sorted(ARCHS), help="the model to export (required but with --list-keys)")
    parser.add_argument("--img-size", type=int, help="window side in pixels (reduced variant only)")
    parser.add_argument("--list-keys", action="store_true", help="print every model's expected key names and shapes, and exit")
    parser.add_argument("--write-backbone", type=Path, help="also write the encoder in the pretrained backbone files' layout")
    parser.add_argument(
        "--backbone",
        type=Path,
        help="a pretrained file (Prithvi_EO_V2_300M_TL.pt, ...): its encoder loaded strictly over the seeded weights, a check of the file",
    )
    args = parser.parse_args()
    if args.list_keys:
        print(json.dumps({m: list_keys(m, args.size) for m in sorted(ARCHS)}))
        return 0
    if not args.model:
        parser.error("--model is required")

    a = arch_for(args.model, args.size, args.img_size)
    weights = weight_bytes(a, args.precision)
    if weights >= 2**31:
        print(
            f"crop-map: {args.model} {args.size} in {args.precision}: {weights / 2**30:.2f} GiB of weights, over ONNX's"
            " 2 GiB single file (the pipeline loads one file); export it with --precision fp16",
            file=sys.stderr,
        )
        return 2
    model = PrithviEO2Crop(a).eval()
    started = time.time()
    source = set_weights(args, model, load_checkpoint_strict, randomize)
    if source is None:
        return 2
    if args.backbone:
        if args.checkpoint:
            print("crop-map: --backbone and --checkpoint: a fine-tuned checkpoint holds its encoder already", file=sys.stderr)
            return 2
        try:
            source["backbone"] = {"file": args.backbone.name, "sha256": sha256_of(args.backbone), **load_backbone_strict(model, args.backbone)}
        except CheckpointError as error:
            refuse(error)
            return 2
    if args.write_checkpoint:
        torch.save({"meta": {"note": "seeded random weights"}, "state_dict": model.state_dict()}, args.write_checkpoint)
    if args.write_backbone:
        torch.save(synthetic_backbone(model, args.seed), args.write_backbone)
        # Read straight back, strictly, into a fresh model: the file is in the pretrained layout.
        try:
            load_backbone_strict(PrithviEO2Crop(a), args.write_backbone)
        except CheckpointError as error:
            refuse(error)
            return 2

    def describe(template: dict, arch_note: str, check: dict) -> str:
        return (
            f"{template['description'].split(' Not bundled')[0]} Exported to ONNX (opset 17, dynamic batch){arch_note}; "
            f"{weights_note(args, source)}{backbone_note(source)}. Parity with PyTorch: max |dlogit| {check['maxAbsLogitDiff']:.2e}."
        )

    dummy = parity_inputs(a, 1, torch.Generator().manual_seed(0))
    return export_and_record(
        args,
        model,
        a,
        dummy,
        INPUTS[: len(dummy)],
        lambda onnx_path, batches, seed: parity(model, onnx_path, a, batches, seed),
        describe,
        source,
        started,
        flopsPerWindow=flops_per_window(a),
    )

if __name__ == "__main__":
    sys.exit(main())
