"""Pretrains SITS-Former by masked prediction on unlabelled series, then fine-tunes it, resumably.

Run by the `trainModel` activity (activities/train.activities.ts) in the export environment, for
`crop-map train --model sits-former`. Its input is a `crop-map chips --kind series` dataset as the
activity fetched it (checked against dataset.json's SHA-256s): `TRAIN/`, `VALIDATE/`, `TEST/` and
`UNLABELLED/`, one `.npz` per series in the original code's layout (`ts` int16 [T, 6, k, k]
reflectance as stored, `doy` [T], `class_label` [1]).

The recipe follows the original SITS-Former code (linlei1214/SITS-Former, read, not copied):
inputs divided by 10,000 with no z-score, the dates in order and the tail padded (doy 0, masked
out); each series flipped and rotated at random (the original's augmentation). Pretraining
(`--pretrain-epochs`, on UNLABELLED): each clear date's patch is replaced, with probability
`--mask-rate`, by a fixed mask token (seeded normal noise, sd 0.01); a linear head on the encoder
regresses the centre pixel's bands of the masked dates, mean squared error over the masked dates
only; Adam at `--pretrain-lr`, gradients clipped at 5. Fine-tuning (`--epochs`, on TRAIN): the
encoder (pretrained, or `--backbone`: the original's `checkpoint.bert.tar` or ours, loaded
strictly, or random) with the classifier (max-pooled dates, linear), cross-entropy, Adam at `--lr`
with `--weight-decay`. Validation on VALIDATE every `--eval-every` epochs and after the last; the
best epoch by mIoU is kept and evaluated once on TEST. The model is the exporter's own module
(models/export/sits_former_export.py), so the best checkpoint exports strictly.

Progress is one JSON object a line on stdout, as prithvi_train.py writes it (`start`, `resumed`,
`step`, `eval`, `checkpoint`, `done`), each with its `phase`. After every epoch of either phase
`<work>/last.pt` holds the whole state (models, optimisers, RNG, histories); `<work>/encoder.pt`
the encoder after pretraining (the original's `checkpoint.bert.tar` layout) and `<work>/best.pt`
the best model with its record (heads, bands, normalisation, classes), which the exporter reads.
An epoch's order, augmentation and masking depend on the seed, the phase and the epoch only, so a
resumed run trains as an unbroken one would.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "export"))
from export_common import CheckpointError, load_state_strict  # noqa: E402
from prithvi_train import emit, miou, restore_rng, rng_state, same_dataset  # noqa: E402
from sits_former_export import ARCHS, BERTClassification, SelfAttention  # noqa: E402

TEMPLATE = Path(__file__).resolve().parent.parent / "sits-former.json"
DIVIDE_BY = 10000.0


def arguments() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, type=Path, help="folder with TRAIN/ VALIDATE/ TEST/ UNLABELLED/")
    p.add_argument("--work", required=True, type=Path, help="checkpoints: last.pt, encoder.pt, best.pt")
    p.add_argument("--size", choices=["full", "reduced"], default="full")
    p.add_argument("--backbone", type=Path, help="a pretrained encoder (checkpoint.bert.tar)")
    p.add_argument("--pretrain-epochs", type=int, default=0)
    p.add_argument("--pretrain-lr", type=float, default=1e-3)
    p.add_argument("--mask-rate", type=float, default=0.3)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--eval-every", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset-sha256", default="", help="recorded in checkpoints; a resume must match it")
    return p.parse_args()


class Split:
    """One folder of series, padded to `length` dates: ts int16 [N, L, 6, k, k], doy [N, L], mask, labels."""

    def __init__(self, folder: Path, length: int | None = None, labelled: bool = True):
        files = sorted(folder.glob("*.npz")) if folder.is_dir() else []
        loaded = []
        for f in files:
            with np.load(f) as z:
                loaded.append((z["ts"], z["doy"], int(z["class_label"][0]) if labelled else -1))
        self.count = len(loaded)
        self.longest = max((len(d) for _, d, _ in loaded), default=0)
        self.length = length or self.longest
        k = loaded[0][0].shape[-1] if loaded else 1
        self.patch = k
        self.ts = np.zeros((self.count, self.length, 6, k, k), dtype=np.int16)
        self.doy = np.zeros((self.count, self.length), dtype=np.int64)
        self.labels = np.array([y for _, _, y in loaded], dtype=np.int64)
        for i, (ts, doy, _) in enumerate(loaded):
            if len(doy) > self.length:
                raise CheckpointError(f"{folder}: a series of {len(doy)} dates, more than the {self.length} the model takes")
            self.ts[i, : len(doy)] = ts
            self.doy[i, : len(doy)] = doy

    def batch(self, index: np.ndarray, g: torch.Generator | None):
        """Float inputs (÷ 10,000), doy, mask; with `g`, each series flipped and rotated at random."""
        x = torch.from_numpy(self.ts[index].astype(np.float32) / DIVIDE_BY)
        if g is not None:
            for i in range(len(index)):
                turns = int(torch.randint(4, (1,), generator=g))
                flip = bool(torch.rand(1, generator=g) < 0.5)
                xi = torch.rot90(x[i], turns, dims=(-2, -1))
                x[i] = xi.flip(-1) if flip else xi
        doy = torch.from_numpy(self.doy[index]).float()
        return x, doy, (doy > 0).float()


class MaskedPrediction(nn.Module):
    """The pretraining task: the encoder and a linear head from each date's features to its centre pixel's bands."""

    def __init__(self, model: BERTClassification):
        super().__init__()
        self.bert = model.bert
        self.head = nn.Linear(model.arch.hidden, model.arch.bands)

    def forward(self, series, doy, mask):
        return self.head(self.bert(series, doy, mask))


def initialise(model: BERTClassification) -> BERTClassification:
    """PyTorch's own initialisation, and nn.MultiheadAttention's for the attention's packed projection
    (the exporter's module leaves it empty: an export always loads or randomises it)."""
    for m in model.modules():
        if isinstance(m, SelfAttention):
            nn.init.xavier_uniform_(m.in_proj_weight)
    return model


def confusion(model: BERTClassification, split: Split, batch: int, classes: int) -> np.ndarray:
    """[label][prediction] counts over the split's series (labels 0..classes-1: the CDL class less 1)."""
    model.eval()
    matrix = np.zeros((classes, classes), dtype=np.int64)
    with torch.no_grad():
        for i in range(0, split.count, batch):
            index = np.arange(i, min(i + batch, split.count))
            pred = model(*split.batch(index, None)).argmax(1).numpy()
            np.add.at(matrix, (split.labels[index], pred), 1)
    model.train()
    return matrix


def load_backbone(model: BERTClassification, path: Path) -> dict:
    """A pretrained encoder into model.bert, strictly: the original's checkpoint.bert.tar (BERT's own
    state dict) or ours (encoder.pt, the same layout), `module.` or `bert.` prefixes stripped."""
    raw = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: not a state dict")
    state = {k.removeprefix("module.").removeprefix("bert."): v for k, v in raw.items()}
    load_state_strict(model.bert, state, path)
    return {"loaded": len(state)}


def main() -> int:
    args = arguments()
    torch.manual_seed(args.seed)
    template = json.loads(TEMPLATE.read_text())
    max_dates = int(template["maxDates"])
    try:
        train = Split(args.data / "TRAIN", max_dates)
        val = Split(args.data / "VALIDATE", max_dates)
        test = Split(args.data / "TEST", max_dates)
        unlabelled = Split(args.data / "UNLABELLED", max_dates, labelled=False)
    except CheckpointError as error:
        print(f"crop-map train: {error}", file=sys.stderr)
        return 2
    if train.count == 0 or val.count == 0:
        print(f"crop-map train: the dataset has {train.count} TRAIN and {val.count} VALIDATE series; fine-tuning needs both", file=sys.stderr)
        return 2
    if args.pretrain_epochs and unlabelled.count == 0:
        print("crop-map train: --pretrain-epochs needs UNLABELLED series (make the dataset with --unlabelled N)", file=sys.stderr)
        return 2
    classes = template["classes"]
    arch = replace(ARCHS[args.size], patch=train.patch, classes=len(classes))
    model = initialise(BERTClassification(arch))
    pretext = MaskedPrediction(model)
    # The original's mask token: one fixed patch of small noise, here seeded.
    token = torch.randn(arch.bands, arch.patch, arch.patch, generator=torch.Generator().manual_seed(args.seed + 7)) * 1e-2
    source: dict = {"kind": "random", "seed": args.seed}
    try:
        if args.backbone:
            source = {"kind": "backbone", "file": args.backbone.name, **load_backbone(model, args.backbone)}
    except CheckpointError as error:
        print(f"crop-map train: {error}", file=sys.stderr)
        return 2
    if args.pretrain_epochs:
        source = {**source, "pretrainEpochs": args.pretrain_epochs, "unlabelled": unlabelled.count}
    pre_optimiser = torch.optim.Adam(pretext.parameters(), lr=args.pretrain_lr)
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    args.work.mkdir(parents=True, exist_ok=True)
    last, best_path, encoder_path = args.work / "last.pt", args.work / "best.pt", args.work / "encoder.pt"
    record = {"heads": arch.heads, "bands": list(template["bands"]["S30"]), "normalization": {"divideBy": DIVIDE_BY}, "classes": classes}

    state = {"pretrainEpoch": 0, "epoch": 0, "best": {"mIoU": -1.0, "epoch": 0}, "history": [], "pretraining": [], "resumes": []}
    if last.exists():
        saved = torch.load(last, map_location="cpu", weights_only=False)
        if not same_dataset(saved, args.dataset_sha256):
            return 2
        pretext.load_state_dict(saved["pretext"])
        model.load_state_dict(saved["model"])
        pre_optimiser.load_state_dict(saved["pretrainOptimiser"])
        optimiser.load_state_dict(saved["optimiser"])
        state = {k: saved[k] for k in state}
        state["resumes"] = [*state["resumes"], {"epoch": state["epoch"], "iteration": state["pretrainEpoch"]}]
        restore_rng(saved["rng"])
        emit("resumed", epoch=state["epoch"], iteration=state["pretrainEpoch"])
    emit(
        "start",
        trainChips=train.count,
        valChips=val.count,
        testSeries=test.count,
        unlabelledSeries=unlabelled.count,
        epochs=args.epochs,
        pretrainEpochs=args.pretrain_epochs,
        source=source,
        arch=asdict(arch),
        threads=torch.get_num_threads(),
    )

    def save(phase: str, loss: float, **extra) -> None:
        checkpoint = {
            "pretext": pretext.state_dict(),
            "model": model.state_dict(),
            "pretrainOptimiser": pre_optimiser.state_dict(),
            "optimiser": optimiser.state_dict(),
            **state,
            "rng": rng_state(),
            "datasetSha256": args.dataset_sha256,
            "arch": args.size,
        }
        torch.save(checkpoint, args.work / "last.pt.partial")
        (args.work / "last.pt.partial").replace(last)
        epoch = state["pretrainEpoch"] if phase == "pretrain" else state["epoch"]
        emit("checkpoint", epoch=epoch, loss=loss, phase=phase, **extra)

    parent = os.getppid()
    half = arch.patch // 2
    while state["pretrainEpoch"] < args.pretrain_epochs:
        started, total, steps = time.time(), 0.0, 0
        g = torch.Generator().manual_seed(args.seed * 100_003 + 50_000 + state["pretrainEpoch"])
        order = torch.randperm(unlabelled.count, generator=g).numpy()
        for start in range(0, unlabelled.count, args.batch):
            if os.getppid() != parent:
                return 3
            index = np.sort(order[start : start + args.batch])
            x, doy, mask = unlabelled.batch(index, g)
            target = x[:, :, :, half, half].clone()
            masked = (torch.rand(mask.shape, generator=g) < args.mask_rate) & (mask > 0)
            x[masked] = token
            if not masked.any():
                continue
            loss = ((pretext(x, doy, mask) - target) ** 2)[masked].mean()
            pre_optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(pretext.parameters(), 5.0)
            pre_optimiser.step()
            total, steps = total + float(loss), steps + 1
            emit("step", phase="pretrain", epoch=state["pretrainEpoch"] + 1, step=steps, loss=float(loss))
        state["pretrainEpoch"] += 1
        entry = {"epoch": state["pretrainEpoch"], "loss": total / max(steps, 1), "seconds": time.time() - started}
        state["pretraining"].append(entry)
        if state["pretrainEpoch"] == args.pretrain_epochs:
            # The encoder alone, as the original's pretraining saves it (checkpoint.bert.tar).
            torch.save(model.bert.state_dict(), encoder_path)
        save("pretrain", entry["loss"])

    model.train()
    steps_per_epoch = -(-train.count // args.batch)
    while state["epoch"] < args.epochs:
        started, total = time.time(), 0.0
        g = torch.Generator().manual_seed(args.seed * 100_003 + state["epoch"])
        order = torch.randperm(train.count, generator=g).numpy()
        for step in range(steps_per_epoch):
            if os.getppid() != parent:
                return 3
            index = np.sort(order[step * args.batch : (step + 1) * args.batch])
            logits = model(*train.batch(index, g))
            loss = nn.functional.cross_entropy(logits, torch.from_numpy(train.labels[index]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss)
            emit("step", phase="finetune", epoch=state["epoch"] + 1, step=step + 1, loss=float(loss))
        state["epoch"] += 1
        epoch = state["epoch"]
        entry = {"epoch": epoch, "loss": total / steps_per_epoch, "seconds": time.time() - started}
        if epoch % args.eval_every == 0 or epoch == args.epochs:
            matrix = confusion(model, val, args.batch, arch.classes)
            entry["mIoU"] = miou(matrix)
            emit("eval", epoch=epoch, mIoU=entry["mIoU"], confusion=matrix.tolist())
            if entry["mIoU"] > state["best"]["mIoU"]:
                state["best"] = {"mIoU": entry["mIoU"], "epoch": epoch, "confusion": matrix.tolist()}
                torch.save({"epoch": epoch, "model_state_dict": model.state_dict(), "crop_map": record}, best_path)
        state["history"].append(entry)
        save("finetune", entry["loss"], mIoU=entry.get("mIoU"))

    best = BERTClassification(arch)
    best.load_state_dict(torch.load(best_path, map_location="cpu", weights_only=True)["model_state_dict"])
    tested = confusion(best, test, args.batch, arch.classes).tolist() if test.count else None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    emit(
        "done",
        best=state["best"],
        history=state["history"],
        pretraining=state["pretraining"],
        test={"confusion": tested} if tested else None,
        source=source,
        resumes=state["resumes"],
        peakRssMb=peak,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
