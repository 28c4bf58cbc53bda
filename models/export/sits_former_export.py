"""Exports the SITS-Former time-series architecture to ONNX, with a parity check.

Run through `npx crop-map model export sits-former [--checkpoint <pth>] --out <dir>`, which installs
the pinned environment (models/export/requirements.txt) first. Without a checkpoint the architecture
gets seeded random weights, so the whole path (build, strict load, export, parity, manifest) runs
where no trained weights can be downloaded.

The architecture follows SITS-Former (Yuan & Lin; the Dual SITS-Former seed builds on it) with its
module names, so a fine-tuned `BERTClassification` state dict loads strictly: each date's patch
[bands, k, k] is embedded by two Conv3d layers over (band, row, column) with ReLU and BatchNorm3d
and a linear layer; a sinusoidal day-of-year encoding (row 0 is zeros, for padding) is added; a
post-norm transformer encoder runs over the dates with the date mask as its key padding mask; the
classifier max-pools the masked sequence and maps it to the classes. For HLS's six bands the
Conv3d band kernels are 3 and 3 (SITS-Former's ten Sentinel-2 bands take 5 and 5): 6 -> 4 -> 2.

The graph takes series [B, T, 6, k, k] (normalised as the manifest says), doy [B, T] (float, 0 for
padded dates) and mask [B, T] (1 for a clear date), T fixed to the manifest's maxDates; it returns
logits [B, classes]. Attention runs as explicit matrix products with the mask added as -1e9 (the
value PyTorch's own masked path gives the same softmax for), so the export needs no fused kernels.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from export_common import (
    CheckpointError,
    export_arguments,
    export_report,
    exported_module,
    load_state_strict,
    logit_gap,
    parity_failure,
    parity_record,
    precision_record,
    set_weights,
    weights_note,
    write_outputs,
)


@dataclass(frozen=True)
class Arch:
    bands: int = 6
    patch: int = 5
    band_kernels: tuple[int, int] = (3, 3)
    channels: tuple[int, int] = (32, 64)
    hidden: int = 256
    layers: int = 3
    heads: int = 8
    classes: int = 13
    max_doy: int = 366


# "full" is SITS-Former's size; "reduced" has the same operators, narrower and shallower, for CI.
ARCHS = {
    "full": Arch(),
    "reduced": Arch(channels=(8, 16), hidden=32, layers=1, heads=4),
}


class PositionalEncoding(nn.Module):
    """Sinusoidal encoding of the day of year; day 0 (padding) encodes as zeros."""

    def __init__(self, d_model: int, max_len: int):
        super().__init__()
        pe = torch.zeros(max_len + 1, d_model)
        position = torch.arange(0, max_len).float().unsqueeze(1)
        div_term = (torch.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model)).exp()
        pe[1:, 0::2] = torch.sin(position * div_term)
        pe[1:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, doy):
        return self.pe[doy.round().long().clamp(0, self.pe.shape[0] - 1)]


class BERTEmbedding(nn.Module):
    def __init__(self, a: Arch):
        super().__init__()
        k1, k2 = a.band_kernels
        c1, c2 = a.channels
        self.conv1 = nn.Sequential(nn.Conv3d(1, c1, kernel_size=(k1, 3, 3)), nn.ReLU(), nn.BatchNorm3d(c1))
        self.conv2 = nn.Sequential(nn.Conv3d(c1, c2, kernel_size=(k2, 3, 3)), nn.ReLU(), nn.BatchNorm3d(c2))
        depth = a.bands - k1 - k2 + 2
        side = a.patch - 4
        if depth < 1 or side < 1:
            raise ValueError(f"bands {a.bands} and patch {a.patch} are too small for the Conv3d kernels")
        self.linear = nn.Linear(c2 * depth * side * side, a.hidden)
        self.position = PositionalEncoding(a.hidden, a.max_doy)

    def forward(self, series, doy):
        b, t, c, k, _ = series.shape
        x = series.reshape(b * t, 1, c, k, k)
        x = self.conv2(self.conv1(x))
        x = self.linear(x.reshape(b * t, -1)).reshape(b, t, -1)
        return x + self.position(doy)


class SelfAttention(nn.Module):
    """nn.MultiheadAttention's parameters (in_proj_weight, in_proj_bias, out_proj), in plain operators."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.scale = 1.0 / math.sqrt(dim // heads)
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x, padding):
        b, t, d = x.shape
        h = self.heads
        q, k, v = (x @ self.in_proj_weight.T + self.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (y.reshape(b, t, h, d // h).transpose(1, 2) for y in (q, k, v))
        scores = q @ k.transpose(-2, -1) * self.scale + padding[:, None, None, :]
        out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
        return self.out_proj(out)


class TransformerEncoderLayer(nn.Module):
    """torch.nn.TransformerEncoderLayer (post-norm, ReLU, feed-forward 4 x hidden), same names."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.self_attn = SelfAttention(dim, heads)
        self.linear1 = nn.Linear(dim, 4 * dim)
        self.linear2 = nn.Linear(4 * dim, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x, padding):
        x = self.norm1(x + self.self_attn(x, padding))
        return self.norm2(x + self.linear2(torch.relu(self.linear1(x))))


class TransformerEncoder(nn.Module):
    def __init__(self, a: Arch):
        super().__init__()
        self.layers = nn.ModuleList(TransformerEncoderLayer(a.hidden, a.heads) for _ in range(a.layers))
        self.norm = nn.LayerNorm(a.hidden)

    def forward(self, x, padding):
        for layer in self.layers:
            x = layer(x, padding)
        return self.norm(x)


def masked(mask: torch.Tensor, fp32: float = 1e9) -> float:
    """How far below the rest a masked date is pushed: in half precision (`--precision fp16`) 1e9
    and 1e6 are infinite, and a clear date's 0 x inf is NaN; 3e4 is finite there and still gives
    the masked dates nothing after softmax or max."""
    return fp32 if mask.dtype != torch.float16 else 3e4


class BERT(nn.Module):
    def __init__(self, a: Arch):
        super().__init__()
        self.embedding = BERTEmbedding(a)
        self.transformer_encoder = TransformerEncoder(a)

    def forward(self, series, doy, mask):
        padding = (1.0 - mask) * -masked(mask)
        return self.transformer_encoder(self.embedding(series, doy), padding)


class MulticlassClassification(nn.Module):
    def __init__(self, a: Arch):
        super().__init__()
        self.linear = nn.Linear(a.hidden, a.classes)

    def forward(self, x, mask):
        x = x - (1.0 - mask.unsqueeze(-1)) * masked(mask, 1e6)
        return self.linear(x.max(dim=1).values)


class BERTClassification(nn.Module):
    def __init__(self, a: Arch):
        super().__init__()
        self.arch = a
        self.bert = BERT(a)
        self.classification = MulticlassClassification(a)

    def forward(self, series, doy, mask):
        return self.classification(self.bert(series, doy, mask), mask)


def load_checkpoint_strict(model: nn.Module, path: Path) -> dict:
    """Loads a BERTClassification state dict: every key used, none missing, shapes equal."""
    raw = torch.load(path, map_location="cpu", weights_only=True)
    state = raw.get("state_dict", raw.get("model_state_dict", raw)) if isinstance(raw, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a state dict")
    load_state_strict(model, state, path)
    return {"keys": len(state)}


def randomize(model: BERTClassification, seed: int) -> None:
    """Seeded random weights, with non-trivial norm statistics so every operator does something."""
    torch.manual_seed(seed)
    for name, p in model.named_parameters():
        with torch.no_grad():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p.view(p.shape[0], -1))
            elif name.endswith("weight"):
                p.uniform_(0.8, 1.2)
            else:
                p.uniform_(-0.05, 0.05)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm3d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)


def parity_inputs(a: Arch, batch: int, dates: int, g: torch.Generator):
    """Normalised reflectance (about standard normal), sorted days of year, and a mask with some
    dates cloudy and the tail padded (doy 0), as the pipeline feeds them; every pixel has a clear date."""
    series = torch.randn(batch, dates, a.bands, a.patch, a.patch, generator=g)
    doy = torch.sort(torch.randint(1, a.max_doy + 1, (batch, dates), generator=g), dim=1).values.float()
    mask = (torch.rand(batch, dates, generator=g) > 0.3).float()
    used = torch.randint(1, dates + 1, (batch,), generator=g)
    for i in range(batch):
        mask[i, used[i] :] = 0
        doy[i, used[i] :] = 0
        series[i, used[i] :] = 0
        mask[i, 0] = 1
    return series, doy, mask


def parity(model: nn.Module, onnx_path: Path, a: Arch, dates: int, batches: list[int], seed: int) -> dict:
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(seed)
    worst = scale = 0.0
    agree = total = 0
    for b in batches:
        series, doy, mask = parity_inputs(a, b, dates, g)
        with torch.no_grad():
            expected = model(series, doy, mask).numpy()
        got = session.run(["logits"], {"series": series.numpy(), "doy": doy.numpy(), "mask": mask.numpy()})[0]
        if got.shape != (b, a.classes):
            raise SystemExit(f"ONNX logits have shape {list(got.shape)} for a batch of {b}")
        worst = max(worst, logit_gap(got, expected))
        scale = max(scale, float(np.abs(expected).max()))
        agree += int((got.argmax(1) == expected.argmax(1)).sum())
        total += b
    return parity_record(batches, worst, scale, agree, total)


def main() -> int:
    args = export_arguments(__doc__.split("\n")[0], "also write the weights as a state dict").parse_args()

    template = json.loads(args.manifest_template.read_text())
    dates = int(template["maxDates"])
    a = ARCHS[args.size]
    a = Arch(**{**asdict(a), "patch": int(template["patch"]), "classes": int(template["output"]["classes"])})
    try:
        model = BERTClassification(a).eval()
    except ValueError as error:
        print(f"crop-map: {error}", file=sys.stderr)
        return 2
    started = time.time()
    source = set_weights(args, model, load_checkpoint_strict, randomize)
    if source is None:
        return 2
    if args.write_checkpoint:
        torch.save(model.state_dict(), args.write_checkpoint)

    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / f"{args.name}.onnx"
    dummy = parity_inputs(a, 1, dates, torch.Generator().manual_seed(args.seed))
    names = template["inputs"]
    torch.onnx.export(
        exported_module(model, args.precision),
        dummy,
        str(onnx_path),
        input_names=[names["series"], names["doy"], names["mask"]],
        output_names=[template["output"]["name"]],
        dynamic_axes={names["series"]: {0: "batch"}, names["doy"]: {0: "batch"}, names["mask"]: {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
        do_constant_folding=True,
    )
    import onnx

    onnx.checker.check_model(str(onnx_path))
    batches = [int(b) for b in args.parity_batches.split(",") if b]
    check = parity(model, onnx_path, a, dates, batches, args.seed + 100)
    failure = parity_failure(check, args.tolerance, args.precision)
    if failure:
        print(failure, file=sys.stderr)
        return 1

    arch_note = "" if args.size == "full" else f", reduced architecture {asdict(a)}"
    description = (
        f"SITS-Former time-series architecture exported to ONNX (opset 17, dynamic batch, {dates} dates)"
        f"{arch_note}; {weights_note(args, source)}. Parity with PyTorch: max |dlogit| {check['maxAbsLogitDiff']:.2e}."
    )
    write_outputs(
        args,
        template,
        description,
        onnx_path,
        export_report(a, model, check, source, started),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
