"""What the model export scripts share: their command line, the strict state-dict check, and the
manifest and report they write beside the ONNX file."""

from __future__ import annotations

import argparse
import copy
import hashlib
import math
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import torch
from torch import nn

# Parity tolerances by precision, relative to the largest |logit|: fp32 rounding is about 1e-7 of
# the logits; fp16 keeps 11 bits (4.9e-4) per value and rounds again at every layer.
TOLERANCE = {"fp32": 1e-4, "fp16": 1e-2}


class CheckpointError(Exception):
    pass


def export_arguments(description: str, write_checkpoint_help: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--checkpoint", type=Path)
    p.add_argument("--size", choices=["full", "reduced"], default="full")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", required=True)
    p.add_argument("--manifest-template", required=True, type=Path)
    p.add_argument("--parity-batches", default="2,1", help="batch sizes of the parity check, comma separated")
    p.add_argument(
        "--tolerance",
        type=float,
        help="parity: largest |dlogit| allowed, relative to the largest |logit| (default 1e-4; fp16 1e-2)",
    )
    p.add_argument(
        "--precision",
        choices=["fp32", "fp16"],
        default="fp32",
        help="fp16: weights and arithmetic in half precision, inputs and outputs float32 (casts inside the graph)",
    )
    p.add_argument("--write-checkpoint", type=Path, help=write_checkpoint_help)
    return p


class HalfInside(nn.Module):
    """A model in half precision behind float32 inputs and outputs: the exported graph casts its
    inputs to fp16 and its logits back to fp32, so the pipeline feeds it float32 unchanged."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.inner = copy.deepcopy(model).half().eval()

    def forward(self, *inputs):
        return self.inner(*(x.half() for x in inputs)).float()


def exported_module(model: nn.Module, precision: str) -> nn.Module:
    """What is traced to ONNX: the model itself, or (fp16) a half-precision copy; the parity check
    compares the graph against the float32 model either way."""
    return HalfInside(model) if precision == "fp16" else model


def precision_record(precision: str, check: dict) -> dict:
    """The manifest's `precision`: what the graph computes in and takes, and how far fp16 is from
    the float32 model (the parity check's figures, which compare the graph against float32 PyTorch)."""
    record = {"graph": precision, "inputs": "float32", "outputs": "float32"}
    if precision == "fp16":
        record["agreementWithFp32"] = {
            "argmaxAgreement": check["argmaxAgreement"],
            "maxAbsLogitDiff": check["maxAbsLogitDiff"],
            "relativeLogitDiff": check["relativeLogitDiff"],
            "batches": check["batches"],
            "measuredOn": "onnxruntime CPU execution provider, random inputs (normalised reflectance)",
        }
    return record


def check_keys(wanted: dict[str, list[int]], state: dict, path: Path, fits: Callable[[str, list[int]], bool] | None = None) -> None:
    """Every key of `wanted` in `state` with its shape (or one `fits` allows), and no other; else
    CheckpointError listing the missing, the unexpected and the misshapen."""
    missing = sorted(set(wanted) - set(state))
    unexpected = sorted(set(state) - set(wanted))
    shapes = sorted(
        f"{k}: checkpoint {list(state[k].shape)}, model {wanted[k]}"
        for k in set(state) & set(wanted)
        if list(state[k].shape) != wanted[k] and not (fits and fits(k, list(state[k].shape)))
    )
    problems = []
    if missing:
        problems.append(f"missing keys ({len(missing)}): {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {', '.join(unexpected)}")
    if shapes:
        problems.append(f"shape mismatches ({len(shapes)}): {'; '.join(shapes)}")
    if problems:
        raise CheckpointError(f"{path}: " + " | ".join(problems))


def load_state_strict(model: nn.Module, state: dict, path: Path) -> None:
    """Every key of `state` used, none missing, shapes equal; else CheckpointError listing them."""
    check_keys({k: list(v.shape) for k, v in model.state_dict().items()}, state, path)
    model.load_state_dict(state, strict=True)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def weights_note(args: argparse.Namespace, source: dict) -> str:
    return (
        f"weights from {args.checkpoint.name} (sha256 {source['checkpointSha256'][:12]})"
        if args.checkpoint
        else f"SEEDED RANDOM WEIGHTS (seed {args.seed}): the architecture only, its maps mean nothing"
    )


def write_outputs(args: argparse.Namespace, template: dict, description: str, onnx_path: Path, report: dict) -> None:
    """The manifest (the template with name, description, file and sha256) and the export report,
    printed last on stdout as one JSON line for `crop-map model export`."""
    sha256 = sha256_of(onnx_path)
    precision = precision_record(args.precision, report["parity"])
    if args.precision == "fp16":
        agreement = precision["agreementWithFp32"]
        description += (
            " Half precision inside (fp16 weights and arithmetic), float32 inputs and outputs (casts in the graph);"
            f" against float32: argmax agreement {agreement['argmaxAgreement'] * 100:.2f} %,"
            f" max |dlogit| {agreement['maxAbsLogitDiff']:.2e}."
        )
    manifest = {
        **template,
        "name": args.name,
        "description": description,
        "onnx": onnx_path.name,
        "sha256": sha256,
        "precision": precision,
    }
    (args.out / f"{args.name}.json").write_text(json.dumps(manifest, indent=2) + "\n")
    full = {"name": args.name, "onnx": str(onnx_path), "sha256": sha256, "bytes": onnx_path.stat().st_size, **report}
    (args.out / f"{args.name}.export.json").write_text(json.dumps(full, indent=2) + "\n")
    print(json.dumps(full))


def refuse(error: CheckpointError) -> None:
    """The one line `crop-map model export` shows for a refused checkpoint (exit 2)."""
    print(f"crop-map: checkpoint refused: {error}", file=sys.stderr)


def set_weights(
    args: argparse.Namespace,
    model: nn.Module,
    load_checkpoint: Callable[[nn.Module, Path], dict],
    randomize: Callable[[nn.Module, int], None],
) -> dict | None:
    """The checkpoint's weights, loaded strictly, or seeded random ones; where they came from, or
    None (having said why on stderr) when the checkpoint is refused."""
    if not args.checkpoint:
        randomize(model, args.seed)
        return {"randomWeights": True, "seed": args.seed}
    try:
        loaded = load_checkpoint(model, args.checkpoint)
    except CheckpointError as error:
        refuse(error)
        return None
    return {"checkpoint": str(args.checkpoint), "checkpointSha256": sha256_of(args.checkpoint), **loaded}


def export_report(arch, model: nn.Module, check: dict, source: dict, started: float, **extra) -> dict:
    """The figures every export reports beside its file: architecture, size, parity, weights, time."""
    return {
        "arch": asdict(arch),
        "parameters": sum(t.numel() for t in model.state_dict().values()),
        **extra,
        "parity": check,
        "source": source,
        "seconds": round(time.time() - started, 1),
    }


def parity_failure(check: dict, tolerance: float | None, precision: str = "fp32") -> str | None:
    """Why the ONNX graph fails parity, or None. fp32 differences grow with the logits (a trained
    checkpoint's are several times a random one's), so the bound is relative to the largest |logit|."""
    if tolerance is None:
        tolerance = TOLERANCE[precision]
    if check["relativeLogitDiff"] <= tolerance:
        return None
    return (
        f"crop-map: parity failed: max |dlogit| {check['maxAbsLogitDiff']:.3g} is {check['relativeLogitDiff']:.3g}"
        f" of the largest |logit| {check['maxAbsLogit']:.3g}, over the relative tolerance {tolerance}"
    )


def logit_gap(got, expected) -> float:
    """The largest |dlogit| of a batch; infinite where the graph gave a non-finite logit (NaN would
    otherwise slip past every comparison and pass as agreement)."""
    import numpy as np

    if not np.isfinite(got).all():
        return math.inf
    return float(np.abs(got - expected).max())


def parity_record(batches: list[int], worst: float, scale: float, agree: int, total: int) -> dict:
    """The parity figures an export reports: the largest |dlogit|, the largest |logit| and their
    ratio (what the tolerance bounds), and how often the two argmaxes agree."""
    return {
        "batches": batches,
        "maxAbsLogitDiff": worst,
        "maxAbsLogit": scale,
        "relativeLogitDiff": worst / max(scale, 1e-30),
        "argmaxAgreement": agree / total,
    }


def seeded_parameters(model: nn.Module, seed: int, fixed: set[str]) -> None:
    """Seeded random parameters (those named in `fixed` left as built): matrices Xavier-uniform,
    norm weights near 1, biases near 0, so every operator does something."""
    torch.manual_seed(seed)
    for name, p in model.named_parameters():
        if name in fixed:
            continue
        with torch.no_grad():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p.view(p.shape[0], -1))
            elif name.endswith("weight"):
                p.uniform_(0.8, 1.2)
            else:
                p.uniform_(-0.05, 0.05)


def export_onnx(module: nn.Module, inputs: tuple, onnx_path: Path, names: list[str]) -> None:
    """The graph (opset 17, every input's and the logits' first axis the batch), checked by onnx."""
    import onnx

    torch.onnx.export(
        module,
        inputs,
        str(onnx_path),
        input_names=names,
        output_names=["logits"],
        dynamic_axes={**{n: {0: "batch"} for n in names}, "logits": {0: "batch"}},
        opset_version=17,
        do_constant_folding=True,
    )
    onnx.checker.check_model(str(onnx_path))


def export_and_record(
    args: argparse.Namespace,
    model: nn.Module,
    arch,
    inputs: tuple,
    names: list[str],
    measure: Callable[[Path, list[int], int], dict],
    describe: Callable[[dict, str, dict], str],
    source: dict,
    started: float,
    **extra,
) -> int:
    """The chip models' export after their weights are set: the graph, its parity check over
    `--parity-batches` (`measure(onnx, batches, seed)`), and the manifest (the template with the
    seed's sliding window, stride half the window, at this window) and report beside it. The exit
    code: 1 when parity fails (said on stderr)."""
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / f"{args.name}.onnx"
    export_onnx(exported_module(model, args.precision), inputs, onnx_path, names)
    check = measure(onnx_path, [int(b) for b in args.parity_batches.split(",") if b], args.seed + 100)
    failure = parity_failure(check, args.tolerance, args.precision)
    if failure:
        print(failure, file=sys.stderr)
        return 1
    template = json.loads(args.manifest_template.read_text())
    template["chip"] = {"size": arch.img_size, "stride": arch.img_size // 2}
    arch_note = "" if args.size == "full" else f", reduced architecture {asdict(arch)}"
    report = export_report(arch, model, check, source, started, **extra)
    write_outputs(args, template, describe(template, arch_note, check), onnx_path, report)
    return 0
