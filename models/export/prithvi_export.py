"""Exports the Prithvi-100M multi-temporal crop classification model to ONNX, with a parity check.

Run through `npx crop-map model export prithvi-crop-100m --checkpoint <pth> --out <dir>`, which
installs the pinned environment (models/export/requirements.txt) first. Without a checkpoint the
same architecture gets seeded random weights, so the whole path (build, strict load, export,
parity, manifest) runs on machines that cannot download the official weights.

The architecture mirrors NASA-IMPACT/hls-foundation-os (configs/multi_temporal_crop_classification.py
and geospatial_fm/geospatial_fm.py) in plain PyTorch, with the same module names so the official
mmsegmentation checkpoint loads strictly: a temporal ViT encoder (3D patch embedding, fixed 3D
sin-cos position embedding, timm-style blocks), the ConvTransformerTokensToEmbeddingNeck (4
conv-transposes back to 224 x 224) and mmseg's FCNHead. The auxiliary head is training-only and
dropped by name. The exported graph takes [B, 18, 224, 224] time-major chips and keeps the plain
reshape to (B, 6, 3, 224, 224) inside, as the source's test pipeline does.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from export_common import (
    CheckpointError,
    export_and_record,
    export_arguments,
    load_state_strict,
    logit_gap,
    parity_record,
    seeded_parameters,
    set_weights,
    weights_note,
)


@dataclass(frozen=True)
class Arch:
    img_size: int = 224
    patch_size: int = 16
    frames: int = 3
    bands: int = 6
    embed_dim: int = 768
    depth: int = 6
    heads: int = 8
    mlp_ratio: float = 4.0
    head_channels: int = 256
    classes: int = 13


# "full" is the seed's model; "reduced" has the same operators with fewer, narrower layers, for CI.
ARCHS = {
    "full": Arch(),
    "reduced": Arch(embed_dim=48, depth=2, heads=4, head_channels=32),
}


def sincos_1d(dim: int, positions: np.ndarray) -> np.ndarray:
    omega = np.arange(dim // 2, dtype=np.float32) / (dim / 2.0)
    omega = 1.0 / 10000**omega
    out = np.einsum("m,d->md", positions.reshape(-1), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def sincos_3d(dim: int, grid: tuple[int, int, int]) -> np.ndarray:
    """Prithvi's fixed position embedding: w and h get 6/16 of the channels each, t gets 4/16; a zero row for cls."""
    t, h, w = grid
    w_dim, h_dim, t_dim = dim // 16 * 6, dim // 16 * 6, dim // 16 * 4
    we = np.tile(sincos_1d(w_dim, np.arange(w)), (t * h, 1))
    he = np.tile(np.repeat(sincos_1d(h_dim, np.arange(h)), w, axis=0), (t, 1))
    te = np.repeat(sincos_1d(t_dim, np.arange(t)), h * w, axis=0)
    return np.concatenate([np.zeros([1, dim]), np.concatenate([we, he, te], axis=1)], axis=0)


class PatchEmbed(nn.Module):
    def __init__(self, a: Arch):
        super().__init__()
        self.proj = nn.Conv3d(
            a.bands, a.embed_dim, kernel_size=(1, a.patch_size, a.patch_size), stride=(1, a.patch_size, a.patch_size)
        )

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """timm's vision_transformer.Block as Prithvi uses it (no layer scale, no drop path at inference)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TemporalViTEncoder(nn.Module):
    def __init__(self, a: Arch):
        super().__init__()
        grid = (a.frames, a.img_size // a.patch_size, a.img_size // a.patch_size)
        self.patch_embed = PatchEmbed(a)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, a.embed_dim))
        pos = torch.from_numpy(sincos_3d(a.embed_dim, grid)).float().unsqueeze(0)
        self.pos_embed = nn.Parameter(pos, requires_grad=False)
        self.blocks = nn.ModuleList([Block(a.embed_dim, a.heads, a.mlp_ratio) for _ in range(a.depth)])
        self.norm = nn.LayerNorm(a.embed_dim)

    def forward(self, x):
        x = self.patch_embed(x) + self.pos_embed[:, 1:, :]
        cls = (self.cls_token + self.pos_embed[:, :1, :]).expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


class Norm2d(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.ln = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x):
        return self.ln(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def up(cin: int, cout: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, kernel_size=2, stride=2)


class ConvTransformerTokensToEmbeddingNeck(nn.Module):
    def __init__(self, a: Arch):
        super().__init__()
        self.hp = a.img_size // a.patch_size
        self.channels = a.embed_dim * a.frames
        c = self.channels
        self.fpn1 = nn.Sequential(up(c, c), Norm2d(c), nn.GELU(), up(c, c))
        self.fpn2 = nn.Sequential(up(c, c), Norm2d(c), nn.GELU(), up(c, c))

    def forward(self, x):
        x = x[:, 1:, :]
        # A plain reshape, as in the source: (B, D, T*H*W) read as (B, D*T, H, W).
        x = x.permute(0, 2, 1).reshape(x.shape[0], -1, self.hp, self.hp)
        return self.fpn2(self.fpn1(x))


class ConvModule(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.activate = nn.ReLU()

    def forward(self, x):
        return self.activate(self.bn(self.conv(x)))


class FCNHead(nn.Module):
    """mmseg FCNHead with num_convs=1, concat_input=False (dropout is a no-op at inference)."""

    def __init__(self, a: Arch):
        super().__init__()
        self.convs = nn.Sequential(ConvModule(a.embed_dim * a.frames, a.head_channels))
        self.conv_seg = nn.Conv2d(a.head_channels, a.classes, kernel_size=1)

    def forward(self, x):
        return self.conv_seg(self.convs(x))


class PrithviCrop(nn.Module):
    """[B, bands*frames, H, W] time-major in, [B, classes, H, W] logits out."""

    def __init__(self, a: Arch):
        super().__init__()
        self.arch = a
        self.backbone = TemporalViTEncoder(a)
        self.neck = ConvTransformerTokensToEmbeddingNeck(a)
        self.decode_head = FCNHead(a)

    def forward(self, x):
        a = self.arch
        x = x.reshape(-1, a.bands, a.frames, a.img_size, a.img_size)
        return self.decode_head(self.neck(self.backbone(x)))


def load_checkpoint_strict(model: nn.Module, path: Path) -> dict:
    """Loads an mmseg checkpoint: every key used, none missing, shapes equal; auxiliary_head.* dropped by name."""
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - mmcv checkpoints may carry non-tensor metadata
        print(f"Export:Checkpoint weights_only load failed ({str(error).splitlines()[0]}); loading fully", file=sys.stderr)
        raw = torch.load(path, map_location="cpu", weights_only=False)
    state = raw.get("state_dict", raw) if isinstance(raw, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a state dict or an mmseg checkpoint with 'state_dict'")
    dropped = sorted(k for k in state if k.startswith("auxiliary_head."))
    state = {k: v for k, v in state.items() if not k.startswith("auxiliary_head.")}
    load_state_strict(model, state, path)
    return {"keys": len(state), "droppedAuxiliary": len(dropped)}


def randomize(model: PrithviCrop, seed: int) -> None:
    """Seeded random weights, with non-trivial norm statistics so every operator does something."""
    seeded_parameters(model, seed, fixed={"backbone.pos_embed"})
    with torch.no_grad():
        nn.init.trunc_normal_(model.backbone.cls_token, std=0.02)
        bn = model.decode_head.convs[0].bn
        bn.running_mean.uniform_(-0.1, 0.1)
        bn.running_var.uniform_(0.5, 1.5)


def synthetic_checkpoint(model: PrithviCrop, seed: int) -> dict:
    """The model's weights in the official checkpoint's layout, auxiliary head included."""
    state = dict(model.state_dict())
    a = model.arch
    g = torch.Generator().manual_seed(seed + 1)
    c = a.embed_dim * a.frames
    for i in range(2):
        state[f"auxiliary_head.convs.{i}.conv.weight"] = torch.randn(a.head_channels, c if i == 0 else a.head_channels, 3, 3, generator=g)
    state["auxiliary_head.conv_seg.weight"] = torch.randn(a.classes, a.head_channels, 1, 1, generator=g)
    return {"meta": {"CLASSES": None, "note": "synthetic, seeded random weights"}, "state_dict": state}


def flops_per_window(a: Arch) -> int:
    """Multiply-adds x 2 of one window (matmuls and convolutions; norms and activations left out)."""
    hp = a.img_size // a.patch_size
    tokens = a.frames * hp * hp + 1
    d = a.embed_dim
    macs = a.frames * hp * hp * d * a.bands * a.patch_size**2  # patch embedding
    per_block = tokens * (3 * d * d + d * d + 2 * d * int(d * a.mlp_ratio)) + 2 * tokens * tokens * d
    macs += a.depth * per_block
    c = d * a.frames
    side = hp
    for _ in range(4):  # conv-transposes k2 s2: each input pixel makes 4 outputs of c x c
        macs += side * side * 4 * c * c
        side *= 2
    macs += side * side * 9 * c * a.head_channels + side * side * a.head_channels * a.classes
    return 2 * macs


def parity(model: nn.Module, onnx_path: Path, a: Arch, batches: list[int], seed: int) -> dict:
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(seed)
    worst = scale = 0.0
    agree = total = 0
    for b in batches:
        # Normalised reflectance is roughly standard normal.
        x = torch.randn(b, a.bands * a.frames, a.img_size, a.img_size, generator=g)
        with torch.no_grad():
            expected = model(x).numpy()
        got = session.run(["logits"], {"hls": x.numpy()})[0]
        if got.shape != (b, a.classes, a.img_size, a.img_size):
            raise SystemExit(f"ONNX logits have shape {list(got.shape)} for a batch of {b}")
        worst = max(worst, logit_gap(got, expected))
        scale = max(scale, float(np.abs(expected).max()))
        agree += int((got.argmax(1) == expected.argmax(1)).sum())
        total += b * a.img_size * a.img_size
    return parity_record(batches, worst, scale, agree, total)


def arch_for(size: str, img_size: int) -> Arch:
    """The named architecture at a window of img_size pixels: only the reduced one may change it (the
    full model's position embedding, and so its checkpoints, are made for 224)."""
    a = ARCHS[size]
    if img_size == a.img_size:
        return a
    if size == "full" or img_size % a.patch_size or img_size < a.patch_size:
        print(f"crop-map: --img-size {img_size}: the {size} model takes {a.img_size} (reduced: a multiple of {a.patch_size})", file=sys.stderr)
        raise SystemExit(2)
    return replace(a, img_size=img_size)


def main() -> int:
    parser = export_arguments(__doc__.split("\n")[0], "also write the weights as an mmseg-layout checkpoint")
    parser.add_argument("--img-size", type=int, default=224, help="window side in pixels (reduced variant only)")
    args = parser.parse_args()

    torch.set_num_threads(max(1, torch.get_num_threads()))
    a = arch_for(args.size, args.img_size)
    model = PrithviCrop(a).eval()
    started = time.time()
    source = set_weights(args, model, load_checkpoint_strict, randomize)
    if source is None:
        return 2
    if args.write_checkpoint:
        torch.save(synthetic_checkpoint(model, args.seed), args.write_checkpoint)

    dummy = torch.zeros(1, a.bands * a.frames, a.img_size, a.img_size)

    def describe(_template: dict, arch_note: str, check: dict) -> str:
        return (
            f"Prithvi-100M crop classification architecture exported to ONNX (opset 17, dynamic batch, "
            f"18-to-(6, 3) reshape inside the graph){arch_note}; {weights_note(args, source)}. "
            f"Parity with PyTorch: max |dlogit| {check['maxAbsLogitDiff']:.2e}."
        )

    return export_and_record(
        args,
        model,
        a,
        (dummy,),
        ["hls"],
        lambda onnx_path, batches, seed: parity(model, onnx_path, a, batches, seed),
        describe,
        source,
        started,
        flopsPerWindow=flops_per_window(a),
    )

if __name__ == "__main__":
    sys.exit(main())
