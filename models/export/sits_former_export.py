"""Exports the SITS-Former time-series architecture to ONNX, with a parity check.

Run through `npx crop-map model export sits-former [--checkpoint <file>] --out <dir>`, which installs
the pinned environment (models/export/requirements.txt) first. Without a checkpoint the architecture
gets seeded random weights, so the whole path (build, strict load, export, parity, manifest) runs
where no trained weights can be downloaded.

The architecture follows SITS-Former (Yuan & Lin; the Dual SITS-Former seed builds on it) with its
module names, so a fine-tuned `BERTClassification` state dict of the original code loads strictly:
each date's patch [bands, k, k] is embedded by two Conv3d layers over (band, row, column) with ReLU
and BatchNorm3d and a linear layer; a sinusoidal day-of-year encoding (row 0 is zeros, for padding)
is added; a post-norm transformer encoder runs over the dates with the date mask as its key padding
mask; the classifier max-pools the masked sequence and maps it to the classes.

A checkpoint's architecture is read from its tensor shapes (bands, Conv3d kernels, channels, hidden
size, feed-forward size, layers, patch, classes, day-of-year table). The attention heads change no
shape, so they come from the checkpoint's own record (what this script and crop-map's training
write beside the weights) or from --heads, and are refused when neither says. The original's
fine-tuning saves {epoch, model_state_dict, optimizer_state_dict}, with `module.` keys under
nn.DataParallel; both load. Its normalisation (reflectance / 10,000, no z-score) is what a
checkpoint without a record was trained with, and goes into the manifest for the pipeline to apply.

The graph takes series [B, T, 6, k, k] (the pipeline's six staged bands, normalised as the manifest
says), doy [B, T] (float, 0 for padded dates) and mask [B, T] (1 for a clear date), T fixed to the
manifest's maxDates; it returns logits [B, classes]. A checkpoint with other bands (the original's
ten Sentinel-2 bands) gets them gathered from the six inside the graph, by name (--bands), so the
pipeline's inputs stay the same for every export. Attention runs as explicit matrix products with
the mask added as -1e9 (the value PyTorch's own masked path gives the same softmax for), so the
export needs no fused kernels.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, replace
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
    refuse,
    seeded_parameters,
    set_weights,
    weights_note,
    write_outputs,
)

# The original's ten Sentinel-2 bands in its order (the SITS-Former paper's B2-B8, B8A, B11, B12; the
# code takes them as they come, `num_features` 10): what a 10-band checkpoint without a record holds.
ORIGINAL_BANDS = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
# The original's FinetuneDataset with no `norm` (as finetuning.py builds it): reflectance / 10,000.
ORIGINAL_NORMALIZATION = {"divideBy": 10000}


@dataclass(frozen=True)
class Arch:
    bands: int = 6
    patch: int = 5
    band_kernels: tuple[int, int] = (3, 3)
    spatial_kernels: tuple[int, int] = (3, 3)
    channels: tuple[int, int] = (32, 64)
    hidden: int = 256
    feed_forward: int = 1024
    layers: int = 3
    heads: int = 8
    classes: int = 13
    max_doy: int = 366


# "full" is SITS-Former's size; "reduced" has the same operators, narrower and shallower, for CI.
ARCHS = {
    "full": Arch(),
    "reduced": Arch(channels=(8, 16), hidden=32, feed_forward=128, layers=1, heads=4),
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
        s1, s2 = a.spatial_kernels
        c1, c2 = a.channels
        self.conv1 = nn.Sequential(nn.Conv3d(1, c1, kernel_size=(k1, s1, s1)), nn.ReLU(), nn.BatchNorm3d(c1))
        self.conv2 = nn.Sequential(nn.Conv3d(c1, c2, kernel_size=(k2, s2, s2)), nn.ReLU(), nn.BatchNorm3d(c2))
        depth = a.bands - k1 - k2 + 2
        side = a.patch - s1 - s2 + 2
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
    """torch.nn.TransformerEncoderLayer (post-norm, ReLU), same names."""

    def __init__(self, dim: int, heads: int, feed_forward: int):
        super().__init__()
        self.self_attn = SelfAttention(dim, heads)
        self.linear1 = nn.Linear(dim, feed_forward)
        self.linear2 = nn.Linear(feed_forward, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x, padding):
        x = self.norm1(x + self.self_attn(x, padding))
        return self.norm2(x + self.linear2(torch.relu(self.linear1(x))))


class TransformerEncoder(nn.Module):
    def __init__(self, a: Arch):
        super().__init__()
        self.layers = nn.ModuleList(
            TransformerEncoderLayer(a.hidden, a.heads, a.feed_forward) for _ in range(a.layers)
        )
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
    """`band_index`: the staged band feeding each of the checkpoint's bands, gathered in the graph
    (a buffer outside the state dict); None where they are the six staged bands in order."""

    def __init__(self, a: Arch, band_index: list[int] | None = None):
        super().__init__()
        self.arch = a
        self.bert = BERT(a)
        self.classification = MulticlassClassification(a)
        self.register_buffer("band_index", None if band_index is None else torch.tensor(band_index), persistent=False)

    def forward(self, series, doy, mask):
        if self.band_index is not None:
            series = series.index_select(2, self.band_index)
        return self.classification(self.bert(series, doy, mask), mask)


def read_checkpoint(path: Path) -> tuple[dict, dict]:
    """The state dict of a checkpoint and its record (heads, bands, normalisation, classes; empty
    for the original's). Takes a bare state dict, `{model_state_dict, ...}` (the original's
    fine-tuning, and ours) or `{state_dict}`, with or without nn.DataParallel's `module.` prefix."""
    raw = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: not a state dict")
    wrapped = next((raw[k] for k in ("model_state_dict", "state_dict") if isinstance(raw.get(k), dict)), None)
    state = wrapped if wrapped is not None else raw
    record = raw.get("crop_map", {}) if wrapped is not None else {}
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    if "bert.embedding.linear.weight" not in state and "embedding.linear.weight" in state:
        raise CheckpointError(
            f"{path}: SITS-Former's encoder alone (pretraining's checkpoint.bert.tar), no classification head: fine-tune it first"
        )
    return state, record


def shape(state: dict, key: str, dims: int) -> tuple[int, ...]:
    if key not in state or state[key].dim() != dims:
        raise CheckpointError(f"no {dims}-d tensor {key}: not a SITS-Former BERTClassification state dict")
    return tuple(state[key].shape)


def bands_and_patch(flat: int, a: Arch) -> list[tuple[int, int]]:
    """(bands, patch) pairs the embedding's linear input size allows: flat = c2 x depth x side^2,
    depth = bands - k1 - k2 + 2 and side = patch - s1 - s2 + 2, patch odd (a centre pixel)."""
    c2 = a.channels[1]
    if flat % c2:
        return []
    per, out = flat // c2, []
    for side in range(1, 16):
        patch = side + sum(a.spatial_kernels) - 2
        if patch > 15:
            break
        if patch % 2 == 1 and per % (side * side) == 0:
            out.append((per // (side * side) + sum(a.band_kernels) - 2, patch))
    return out


def arch_from_checkpoint(state: dict, record: dict, args, template: dict) -> tuple[Arch, dict]:
    """The architecture the tensors show, the heads from the record or --heads, the bands by name;
    every flag problem at once, in one line. Returns the arch and the record to write."""
    c1, _, k1, s1, _ = shape(state, "bert.embedding.conv1.0.weight", 5)
    c2, _, k2, s2, _ = shape(state, "bert.embedding.conv2.0.weight", 5)
    hidden, flat = shape(state, "bert.embedding.linear.weight", 2)
    a = Arch(
        band_kernels=(k1, k2),
        spatial_kernels=(s1, s2),
        channels=(c1, c2),
        hidden=hidden,
        feed_forward=shape(state, "bert.transformer_encoder.layers.0.linear1.weight", 2)[0],
        layers=len({k.split(".")[3] for k in state if k.startswith("bert.transformer_encoder.layers.")}),
        classes=shape(state, "classification.linear.weight", 2)[0],
        max_doy=shape(state, "bert.embedding.position.pe", 2)[0] - 1,
    )
    problems = []
    staged = list(template["bands"]["S30"])
    names = args.bands.split(",") if args.bands else record.get("bands")
    fits = bands_and_patch(flat, a)
    options = [(b, p) for b, p in fits if names is None or b == len(names)]
    if len(options) != 1:
        found = ", ".join(f"{b} bands at patch {p}" for b, p in fits) or "no band count at an odd patch"
        said = f"--bands lists {len(names)}" if names else "--bands names the checkpoint's bands, and so their number"
        raise CheckpointError(f"{args.checkpoint}: the embedding's {flat} inputs fit {found}: {said}")
    bands, patch = options[0]
    a = replace(a, bands=bands, patch=patch)
    if names is None:
        names = staged if bands == len(staged) else list(ORIGINAL_BANDS) if bands == len(ORIGINAL_BANDS) else None
    if names is None:
        problems.append(f"--bands: the checkpoint takes {bands} bands; list the staged band ({', '.join(staged)}) feeding each")
    elif any(b not in staged for b in names):
        missing = [b for b in names if b not in staged]
        order = " (the original's Sentinel-2 order)" if list(names) == list(ORIGINAL_BANDS) else ""
        problems.append(
            f"--bands: the checkpoint's {bands} bands {' '.join(names)}{order} include {', '.join(missing)}, which the"
            f" pipeline does not stage (it stages {' '.join(staged)}, the six bands both HLS sensors have): list {bands} staged"
            " bands, one per checkpoint band, e.g. the nearest in wavelength"
        )
    heads = args.heads or record.get("heads")
    if heads is None:
        problems.append(
            "--heads: the checkpoint does not record its attention heads, which no tensor shape shows"
            " (the original trains with 8 unless told otherwise): give the number it was trained with"
        )
    elif args.heads and record.get("heads") and args.heads != record["heads"]:
        problems.append(f"--heads {args.heads}: the checkpoint records {record['heads']} heads")
    elif hidden % heads:
        problems.append(f"--heads {heads}: the hidden size {hidden} does not divide into {heads} heads")
    classes = json.loads(args.classes) if args.classes else record.get("classes", template["classes"])
    if len(classes) != a.classes:
        problems.append(
            f"--classes: the checkpoint has {a.classes} classes, {'--classes' if args.classes else 'the manifest'} lists"
            f" {len(classes)}: a JSON file of crop-map classes ({{id, name}}), one per output in order"
        )
    if problems:
        raise CheckpointError(f"{args.checkpoint}: " + " | ".join(problems))
    normalization = record.get("normalization", ORIGINAL_NORMALIZATION)
    settings = {"heads": heads, "bands": list(names), "normalization": normalization, "classes": classes}
    return replace(a, heads=heads), settings


def randomize(model: BERTClassification, seed: int) -> None:
    """Seeded random weights, with non-trivial norm statistics so every operator does something."""
    seeded_parameters(model, seed, fixed=set())
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm3d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)


def parity_inputs(a: Arch, staged: int, divided: bool, batch: int, dates: int, g: torch.Generator):
    """Inputs as the pipeline feeds them: the staged bands normalised (reflectance / 10,000 in 0 to
    0.6, or z-scores about standard normal), sorted days of year, and a mask with some dates cloudy
    and the tail padded (doy 0); every pixel has a clear date."""
    size = (batch, dates, staged, a.patch, a.patch)
    series = torch.rand(*size, generator=g) * 0.6 if divided else torch.randn(*size, generator=g)
    doy = torch.sort(torch.randint(1, a.max_doy + 1, (batch, dates), generator=g), dim=1).values.float()
    mask = (torch.rand(batch, dates, generator=g) > 0.3).float()
    used = torch.randint(1, dates + 1, (batch,), generator=g)
    for i in range(batch):
        mask[i, used[i] :] = 0
        doy[i, used[i] :] = 0
        series[i, used[i] :] = 0
        mask[i, 0] = 1
    return series, doy, mask


def parity(model: nn.Module, onnx_path: Path, inputs, batches: list[int]) -> dict:
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    worst = scale = 0.0
    agree = total = 0
    for b in batches:
        series, doy, mask = inputs(b)
        with torch.no_grad():
            expected = model(series, doy, mask).numpy()
        got = session.run(["logits"], {"series": series.numpy(), "doy": doy.numpy(), "mask": mask.numpy()})[0]
        if got.shape != expected.shape:
            raise SystemExit(f"ONNX logits have shape {list(got.shape)} for a batch of {b}")
        worst = max(worst, logit_gap(got, expected))
        scale = max(scale, float(np.abs(expected).max()))
        agree += int((got.argmax(1) == expected.argmax(1)).sum())
        total += b
    return parity_record(batches, worst, scale, agree, total)


def main() -> int:
    p = export_arguments(__doc__.split("\n")[0], "also write the weights, with their record (heads, bands, ...)")
    p.add_argument("--heads", type=int, help="attention heads, where the checkpoint does not record them")
    p.add_argument("--bands", help="the staged band feeding each of the checkpoint's bands, comma separated")
    p.add_argument("--classes", help="the manifest's classes (JSON), one per output of the checkpoint")
    args = p.parse_args()

    template = json.loads(args.manifest_template.read_text())
    dates = int(template["maxDates"])
    staged = list(template["bands"]["S30"])
    state: dict = {}
    try:
        if args.checkpoint:
            state, record = read_checkpoint(args.checkpoint)
            a, settings = arch_from_checkpoint(state, record, args, template)
        else:
            a = replace(ARCHS[args.size], patch=int(template["patch"]), classes=int(template["output"]["classes"]))
            a = replace(a, heads=args.heads or a.heads)
            if a.hidden % a.heads:
                raise ValueError(f"--heads {a.heads}: the hidden size {a.hidden} does not divide into {a.heads} heads")
            settings = {"heads": a.heads, "bands": staged, "normalization": template["normalization"], "classes": template["classes"]}
        index = [staged.index(b) for b in settings["bands"]]
        model = BERTClassification(a, None if index == list(range(len(staged))) else index).eval()
    except CheckpointError as error:
        refuse(error)
        return 2
    except ValueError as error:
        print(f"crop-map: {error}", file=sys.stderr)
        return 2
    started = time.time()

    def load(m: nn.Module, path: Path) -> dict:
        load_state_strict(m, state, path)
        return {"keys": len(state)}

    source = set_weights(args, model, load, randomize)
    if source is None:
        return 2
    if args.write_checkpoint:
        torch.save({"model_state_dict": model.state_dict(), "crop_map": settings}, args.write_checkpoint)

    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / f"{args.name}.onnx"
    divided = "divideBy" in settings["normalization"]

    g = torch.Generator().manual_seed(args.seed + 100)

    def inputs(batch: int):
        return parity_inputs(a, len(staged), divided, batch, dates, g)

    dummy = parity_inputs(a, len(staged), divided, 1, dates, torch.Generator().manual_seed(args.seed))
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
    check = parity(model, onnx_path, inputs, batches)
    failure = parity_failure(check, args.tolerance, args.precision)
    if failure:
        print(failure, file=sys.stderr)
        return 1

    arch_note = f", reduced architecture {asdict(a)}" if args.size == "reduced" and not args.checkpoint else ""
    bands_note = "" if index == list(range(len(staged))) else f"; its {a.bands} bands fed from {' '.join(settings['bands'])}"
    description = (
        f"SITS-Former time-series architecture exported to ONNX (opset 17, dynamic batch, {dates} dates, {a.heads} heads)"
        f"{arch_note}{bands_note}; {weights_note(args, source)}. Parity with PyTorch: max |dlogit| {check['maxAbsLogitDiff']:.2e}."
    )
    manifest = {
        **template,
        "patch": a.patch,
        "output": {**template["output"], "classes": a.classes},
        "normalization": settings["normalization"],
        "classes": settings["classes"],
        "architecture": {
            "kind": "sits-former",
            "inputBands": settings["bands"],
            "bandKernels": list(a.band_kernels),
            "hidden": a.hidden,
            "layers": a.layers,
            "heads": a.heads,
        },
    }
    write_outputs(args, manifest, description, onnx_path, export_report(a, model, check, source, started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
