"""SITS-Former's forward as the original code defines it (linlei1214/SITS-Former, code/model/), for
test/integration/sits.export.test.ts to compare the exporter's ONNX with. Written for the test from
those layer definitions, and on purpose unlike the exporter's module: torch's own
nn.TransformerEncoder (sequence first, a boolean key padding mask) where the exporter spells
attention out, the day-of-year table read row by row with index_select, the original's data layout
(clear dates first, the tail padded with zeros and day 0, reflectance / 10,000, its own band order).

    python sits_former_reference.py <dir> <config json>

writes into <dir>: `original.tar`, a checkpoint as the original's fine-tuning saves it under
nn.DataParallel ({epoch, model_state_dict with `module.` keys, optimizer_state_dict}), and
`damaged.tar`, the same with a key missing, one unexpected and one misshapen; `stack.bin`, a
small staged grid (int16 [dates][6 staged bands][height][width], -9999 where not clear); and
`reference.json`, the reference logits of the centre pixel of every 5 x 5 block, with the config's
heads and with a wrong head count (what a silently wrong export would give).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

NODATA = -9999


class DoyEncoding(nn.Module):
    """The original's sinusoidal table over days: row 0 stays zero (padding), row d holds position d - 1."""

    def __init__(self, width: int, days: int = 366):
        super().__init__()
        table = torch.zeros(days + 1, width)
        angle = torch.arange(days).float()[:, None] * torch.exp(
            -math.log(10000.0) * torch.arange(0, width, 2).float() / width
        )
        table[1:, 0::2], table[1:, 1::2] = angle.sin(), angle.cos()
        self.register_buffer("pe", table)

    def forward(self, doy):
        return torch.stack([self.pe.index_select(0, row) for row in doy])


class Embedding(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        (k1, k2), (c1, c2) = c["bandKernels"], c["channels"]
        self.conv1 = nn.Sequential(nn.Conv3d(1, c1, (k1, 3, 3)), nn.ReLU(), nn.BatchNorm3d(c1))
        self.conv2 = nn.Sequential(nn.Conv3d(c1, c2, (k2, 3, 3)), nn.ReLU(), nn.BatchNorm3d(c2))
        self.linear = nn.Linear(c2 * (c["bands"] - k1 - k2 + 2) * (c["patch"] - 4) ** 2, c["hidden"])
        self.position = DoyEncoding(c["hidden"])

    def forward(self, x, doy):
        b, t = x.shape[:2]
        y = self.conv2(self.conv1(x.flatten(0, 1).unsqueeze(1)))
        return self.linear(y.reshape(b * t, -1)).view(b, t, -1) + self.position(doy)


class Bert(nn.Module):
    def __init__(self, c: dict, heads: int):
        super().__init__()
        self.embedding = Embedding(c)
        layer = nn.TransformerEncoderLayer(c["hidden"], heads, 4 * c["hidden"], 0.1)
        # No nested tensors: the same arithmetic, without the warning that batch_first is off.
        self.transformer_encoder = nn.TransformerEncoder(
            layer, c["layers"], nn.LayerNorm(c["hidden"]), enable_nested_tensor=False
        )

    def forward(self, x, doy, mask):
        h = self.embedding(x, doy).transpose(0, 1)
        return self.transformer_encoder(h, src_key_padding_mask=mask == 0).transpose(0, 1)


class Head(nn.Module):
    def __init__(self, hidden: int, classes: int):
        super().__init__()
        self.linear = nn.Linear(hidden, classes)

    def forward(self, h, mask):
        return self.linear((h - (1 - mask.unsqueeze(-1)) * 1e6).max(dim=1).values)


class Classifier(nn.Module):
    def __init__(self, c: dict, heads: int):
        super().__init__()
        self.bert = Bert(c, heads)
        self.classification = Head(c["hidden"], c["classes"])

    def forward(self, x, doy, mask):
        return self.classification(self.bert(x, doy, mask), mask)


def trained_looking(model: nn.Module, g: torch.Generator) -> None:
    """Weights and BatchNorm statistics away from their initial values, so every tensor counts."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p[0].numel()))
            else:
                # 1-d weights are the norms' scales, about 1; the rest are biases, about 0.
                p.copy_(torch.randn(p.shape, generator=g) * 0.1 + (1.0 if name.endswith("weight") else 0.0))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm3d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)


def main() -> None:
    out, c = Path(sys.argv[1]), json.loads(sys.argv[2])
    g = torch.Generator().manual_seed(c["seed"])
    rng = np.random.default_rng(c["seed"])

    model = Classifier(c, c["heads"])
    trained_looking(model, g)
    # As the original's BERTFineTuner saves it on a multi-GPU host: wrapped, after an optimiser step.
    wrapped = nn.DataParallel(model)
    optimizer = torch.optim.Adam(wrapped.parameters(), lr=2e-4)
    optimizer.zero_grad()
    optimizer.step()
    saved = {"epoch": 7, "model_state_dict": wrapped.state_dict(), "optimizer_state_dict": optimizer.state_dict()}
    torch.save(saved, out / "original.tar")
    # The same damaged, for the strict load to list: a key missing, one unexpected, one misshapen.
    damaged = dict(saved["model_state_dict"])
    damaged.pop("module.classification.linear.bias")
    damaged["module.bert.extra"] = torch.zeros(1)
    damaged["module.bert.transformer_encoder.layers.0.norm1.weight"] = torch.zeros(99)
    torch.save({**saved, "model_state_dict": damaged}, out / "damaged.tar")
    model.eval()
    wrong = Classifier(c, c["wrongHeads"]).eval()
    wrong.load_state_dict(model.state_dict())

    # The staged grid: 5 x 5 blocks, each clear or not as a whole on each date, so a clear centre
    # pixel has a clear patch, as in the original's data (the pipeline fills cloudy neighbours
    # with the centre, which the original never sees).
    dates, bx, by, k = c["dates"], c["blocksAcross"], c["blocksDown"], c["patch"]
    doys = np.sort(rng.choice(np.arange(60, 300), dates, replace=False))
    stack = rng.integers(0, 6000, (dates, 6, by * k, bx * k)).astype(np.int16)
    clear = rng.random((dates, by, bx)) > 0.35
    clear[rng.integers(0, dates, (by, bx)), np.arange(by)[:, None], np.arange(bx)[None, :]] = True
    for t, j, i in zip(*np.nonzero(~clear)):
        stack[t, :, j * k : (j + 1) * k, i * k : (i + 1) * k] = NODATA
    stack.astype("<i2").tofile(out / "stack.bin")

    # The original's inputs: the checkpoint's bands gathered from the staged six, clear dates
    # first, reflectance / 10,000, padded to its max_length with zeros and day 0.
    index = [c["staged"].index(b) for b in c["bandsFrom"]]
    length = c["maxLength"]
    x = torch.zeros(bx * by, length, len(index), k, k)
    doy = torch.zeros(bx * by, length, dtype=torch.long)
    mask = torch.zeros(bx * by, length, dtype=torch.long)
    pixels = []
    for j in range(by):
        for i in range(bx):
            n = len(pixels)
            kept = np.nonzero(clear[:, j, i])[0]
            patches = stack[kept][:, index, j * k : (j + 1) * k, i * k : (i + 1) * k]
            x[n, : len(kept)] = torch.from_numpy(patches / 10000.0)
            doy[n, : len(kept)] = torch.from_numpy(doys[kept])
            mask[n, : len(kept)] = 1
            pixels.append([i * k + k // 2, j * k + k // 2])
    with torch.no_grad():
        logits = model(x, doy, mask)
        wrong_logits = wrong(x, doy, mask)
    (out / "reference.json").write_text(
        json.dumps(
            {
                "width": bx * k,
                "height": by * k,
                "doys": doys.tolist(),
                "pixels": pixels,
                "logits": logits.tolist(),
                "wrongHeadsLogits": wrong_logits.tolist(),
            }
        )
    )


if __name__ == "__main__":
    main()
