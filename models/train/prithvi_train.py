"""Fine-tunes a Prithvi crop model (100M, or EO-2.0 300M or 600M) on training chips, resumably.

Run by the `trainModel` activity (activities/train.activities.ts) in the export environment. Its
input is a folder the activity made from a `crop-map chips` dataset: `train.x.npy` / `val.x.npy`
(int16 [N, 18, 224, 224], time-major reflectance as in `<chip>_merged.tif`) and `train.y.npy` /
`val.y.npy` (uint8 [N, 224, 224], the mask: 0 = no data, 1..13 the classes).

The recipe is hls-foundation-os `configs/multi_temporal_crop_classification.py`: Adam (lr 1.5e-5,
weight decay 0.05), linear warm-up over 1,500 iterations from 1e-6 of the rate then poly decay
(power 1) to 0 by the last iteration, batch 8, random horizontal flip (p 0.5), cross-entropy with
the config's 13 class weights ignoring no data (reduce_zero_label), validation every 5 epochs,
best by mIoU. Reflectance is clipped at 0 and normalised with the config's per-band mean and std.
`--model prithvi-eo2-300m` (or 600m) trains Prithvi-EO-2.0 (prithvi_eo2_model.py) the same way;
TerraTorch's multicrop.yaml trains it with AdamW (lr 3e-4, weight decay 0.35), which this Adam
recipe is not (its rate and decay are options). The TL variants are not trained here: they take
each chip's dates and place, which a chips dataset does not record.

Progress is one JSON object a line on stdout (`step`, `eval`, `checkpoint`, `done`); the activity
heartbeats with them. A checkpoint (model, optimiser, iteration, RNG states, epoch, best, dataset
digest) is written at the end of every epoch to `<work>/last.pt` and the best model, in the
mmseg checkpoint layout that `prithvi_export.py --checkpoint` loads strictly, to `<work>/best.pt`.
Started again with the same `--work`, training resumes after the last finished epoch; the order
of chips and flips of an epoch depend on the seed and the epoch only, so a resumed run trains as
an unbroken one would.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "export"))
import prithvi_eo2_export  # noqa: E402
import prithvi_eo2_model as eo2  # noqa: E402
import prithvi_export as v1  # noqa: E402
from export_common import CheckpointError, load_state_strict  # noqa: E402

MEANS = [494.905781, 815.239594, 924.335066, 2968.881459, 2634.621962, 1739.579917]
STDS = [284.925432, 357.84876, 575.566823, 896.601013, 951.900334, 921.407808]
CLASS_WEIGHTS = [
    0.386375, 0.661126, 0.548184, 0.640482, 0.876862, 0.925186, 3.249462,
    1.542289, 2.175141, 2.272419, 3.062762, 3.626097, 1.198702,
]  # fmt: skip
IGNORE = 255


class Family:
    """What the trainer needs of an architecture: build it at a chip side, seed it, load a whole
    model or a pretrained encoder strictly, count its FLOPs."""

    def __init__(self, model: str):
        if model == "prithvi-crop-100m":
            self.arch = lambda size, side: v1.arch_for(size, side)
            self.build, self.randomize, self.flops = v1.PrithviCrop, v1.randomize, v1.flops_per_window
            self.load_init, self.load_backbone = v1.load_checkpoint_strict, load_backbone
        else:
            self.arch = lambda size, side: eo2.arch_for(model, size, side)
            self.build, self.randomize, self.flops = eo2.PrithviEO2Crop, eo2.randomize, prithvi_eo2_export.flops_per_window
            self.load_init, self.load_backbone = eo2.load_checkpoint_strict, eo2.load_backbone_strict


# The TL variants also take each chip's dates and place, which a chips dataset does not record.
TRAINABLE = ["prithvi-crop-100m", "prithvi-eo2-300m", "prithvi-eo2-600m"]


def arguments() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=TRAINABLE, default="prithvi-crop-100m")
    p.add_argument("--data", required=True, type=Path, help="folder with train/val .x.npy and .y.npy")
    p.add_argument("--work", required=True, type=Path, help="checkpoints: last.pt, best.pt")
    p.add_argument("--size", choices=["full", "reduced"], default="full")
    init = p.add_mutually_exclusive_group()
    init.add_argument("--init", type=Path, help="a whole model to start from (mmseg checkpoint)")
    init.add_argument("--backbone", type=Path, help="the pretrained encoder (Prithvi_100M.pt, Prithvi_EO_V2_300M.pt, ...)")
    p.add_argument("--epochs", type=int, default=80)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=1.5e-5)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--warmup-iters", type=int, default=1500)
    p.add_argument("--eval-every", type=int, default=5, help="validate every N epochs (and after the last)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset-sha256", default="", help="recorded in checkpoints; a resume must match it")
    return p.parse_args()


def emit(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def normalise(x: np.ndarray) -> torch.Tensor:
    """int16 [B, 18, H, W] -> float32, negative reflectance clipped to 0, per-band z-score."""
    t = torch.from_numpy(np.maximum(x.astype(np.float32), 0.0))
    mean = torch.tensor(MEANS * 3).view(1, 18, 1, 1)
    std = torch.tensor(STDS * 3).view(1, 18, 1, 1)
    return (t - mean) / std


def targets(y: np.ndarray) -> torch.Tensor:
    """Mask 0..13 -> class index 0..12, no data -> IGNORE (mmseg's reduce_zero_label)."""
    t = torch.from_numpy(y.astype(np.int64)) - 1
    t[t < 0] = IGNORE
    return t


def learning_rate(args: argparse.Namespace, iteration: int, max_iters: int) -> float:
    """mmcv's poly policy (power 1, min 0) with linear warm-up from warmup_ratio 1e-6, by iteration."""
    regular = args.lr * (1 - iteration / max_iters) if max_iters else args.lr
    if iteration < args.warmup_iters:
        k = (1 - iteration / args.warmup_iters) * (1 - 1e-6)
        return regular * (1 - k)
    return regular


def load_backbone(model: v1.PrithviCrop, path: Path) -> dict:
    """The pretrained MAE's encoder into model.backbone, strictly: every encoder weight present and
    shaped as ours; the MAE decoder and mask token dropped by name, and the fixed sin-cos position
    embedding made for our grid rather than loaded (as the seed config's encoder does)."""
    raw = torch.load(path, map_location="cpu", weights_only=True)
    state = raw.get("model", raw.get("state_dict", raw)) if isinstance(raw, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a state dict")
    state = {k.removeprefix("encoder.").removeprefix("backbone."): v for k, v in state.items()}
    dropped = sorted(k for k in state if k.startswith("decoder") or k == "mask_token" or k == "pos_embed")
    encoder = {k: v for k, v in state.items() if k not in dropped}
    encoder["pos_embed"] = model.backbone.pos_embed.detach().clone()
    load_state_strict(model.backbone, encoder, path)
    return {"loaded": len(encoder) - 1, "dropped": dropped}


def confusion(model: nn.Module, x: np.ndarray, y: np.ndarray, batch: int, classes: int) -> np.ndarray:
    """[label][prediction] counts over labelled pixels (label 1..13 as rows 0..12)."""
    model.eval()
    matrix = np.zeros((classes, classes), dtype=np.int64)
    with torch.no_grad():
        for i in range(0, len(x), batch):
            pred = model(normalise(np.asarray(x[i : i + batch]))).argmax(1).numpy()
            label = np.asarray(y[i : i + batch]).astype(np.int64) - 1
            keep = label >= 0
            np.add.at(matrix, (label[keep], pred[keep]), 1)
    model.train()
    return matrix


def miou(matrix: np.ndarray) -> float:
    """Mean IoU over the classes labelled or predicted (mmseg's nanmean: a class neither labelled nor
    predicted has no IoU), the definition of lib/accuracy/confusion.ts."""
    tp = np.diag(matrix).astype(np.float64)
    union = matrix.sum(0) + matrix.sum(1) - tp
    seen = union > 0
    return float(np.mean(tp[seen] / union[seen])) if seen.any() else float("nan")


def same_dataset(checkpoint: dict, dataset_sha256: str) -> bool:
    """Whether a checkpoint to resume from was made from this dataset; if not, says so on stderr."""
    if checkpoint["datasetSha256"] == dataset_sha256:
        return True
    print(
        f"crop-map train: the checkpoint to resume from was made from dataset.json sha256 {checkpoint['datasetSha256']},"
        f" the dataset now has {dataset_sha256}: train under another --name",
        file=sys.stderr,
    )
    return False


def rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def restore_rng(rng: dict) -> None:
    torch.set_rng_state(rng["torch"])
    np.random.set_state(rng["numpy"])
    random.setstate(rng["python"])


def main() -> int:
    args = arguments()
    torch.manual_seed(args.seed)
    train_x = np.load(args.data / "train.x.npy", mmap_mode="r")
    train_y = np.load(args.data / "train.y.npy", mmap_mode="r")
    val_x = np.load(args.data / "val.x.npy", mmap_mode="r")
    val_y = np.load(args.data / "val.y.npy", mmap_mode="r")
    # The chips' side is the model's window (224 for the full model; tests train reduced ones on less).
    family = Family(args.model)
    arch = family.arch(args.size, int(train_x.shape[-1]))
    model = family.build(arch)
    family.randomize(model, args.seed)
    source: dict = {"kind": "random", "seed": args.seed}
    try:
        if args.init:
            source = {"kind": "init", "file": args.init.name, **family.load_init(model, args.init)}
        elif args.backbone:
            source = {"kind": "backbone", "file": args.backbone.name, **family.load_backbone(model, args.backbone)}
    except CheckpointError as error:
        print(f"crop-map train: {error}", file=sys.stderr)
        return 2
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(CLASS_WEIGHTS), ignore_index=IGNORE)
    steps_per_epoch = math.ceil(len(train_x) / args.batch)
    max_iters = args.epochs * steps_per_epoch
    args.work.mkdir(parents=True, exist_ok=True)
    last, best_path = args.work / "last.pt", args.work / "best.pt"

    epoch, iteration, best, history, resumes = 0, 0, {"mIoU": -1.0, "epoch": 0}, [], []
    if last.exists():
        state = torch.load(last, map_location="cpu", weights_only=False)
        if not same_dataset(state, args.dataset_sha256):
            return 2
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        epoch, iteration, best, history = state["epoch"], state["iteration"], state["best"], state["history"]
        # Every resume is kept, so the report says where a lost worker's training picked up again.
        resumes = [*state.get("resumes", []), {"epoch": epoch, "iteration": iteration}]
        restore_rng(state["rng"])
        emit("resumed", epoch=epoch, iteration=iteration)
    emit(
        "start",
        trainChips=len(train_x),
        valChips=len(val_x),
        stepsPerEpoch=steps_per_epoch,
        epochs=args.epochs,
        source=source,
        flopsPerChip=family.flops(arch),
        threads=torch.get_num_threads(),
    )

    model.train()
    parent = os.getppid()
    while epoch < args.epochs:
        started, total = time.time(), 0.0
        # The epoch's order and flips from the seed and the epoch alone: a resumed run repeats them.
        g = torch.Generator().manual_seed(args.seed * 100_003 + epoch)
        order = torch.randperm(len(train_x), generator=g).numpy()
        for step in range(steps_per_epoch):
            # A worker killed outright leaves this process to init: stop rather than train for no one.
            if os.getppid() != parent:
                return 3
            index = np.sort(order[step * args.batch : (step + 1) * args.batch])
            x, y = normalise(np.asarray(train_x[index])), targets(np.asarray(train_y[index]))
            flip = torch.rand(len(index), generator=g) < 0.5
            x[flip], y[flip] = x[flip].flip(-1), y[flip].flip(-1)
            for group in optimiser.param_groups:
                group["lr"] = learning_rate(args, iteration, max_iters)
            loss = loss_fn(model(x), y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            iteration += 1
            total += float(loss)
            emit("step", epoch=epoch + 1, step=step + 1, iteration=iteration, loss=float(loss), lr=optimiser.param_groups[0]["lr"])
        epoch += 1
        record = {"epoch": epoch, "loss": total / steps_per_epoch, "seconds": time.time() - started}
        if epoch % args.eval_every == 0 or epoch == args.epochs:
            matrix = confusion(model, val_x, val_y, args.batch, arch.classes)
            record["mIoU"] = miou(matrix)
            emit("eval", epoch=epoch, mIoU=record["mIoU"], confusion=matrix.tolist())
            if record["mIoU"] > best["mIoU"]:
                best = {"mIoU": record["mIoU"], "epoch": epoch, "confusion": matrix.tolist()}
                torch.save({"meta": {"epoch": epoch, "mIoU": record["mIoU"]}, "state_dict": model.state_dict()}, best_path)
        history.append(record)
        rng = rng_state()
        checkpoint = {
            "model": model.state_dict(),
            "optimiser": optimiser.state_dict(),
            "epoch": epoch,
            "iteration": iteration,
            "best": best,
            "history": history,
            "resumes": resumes,
            "rng": rng,
            "datasetSha256": args.dataset_sha256,
            "arch": args.size,
        }
        torch.save(checkpoint, args.work / "last.pt.partial")
        (args.work / "last.pt.partial").replace(last)
        emit("checkpoint", epoch=epoch, loss=record["loss"], mIoU=record.get("mIoU"))
    # ru_maxrss is in KiB on Linux: what a worker host needs for this model and batch.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    emit("done", best=best, history=history, source=source, resumes=resumes, peakRssMb=peak)
    return 0


if __name__ == "__main__":
    sys.exit(main())
