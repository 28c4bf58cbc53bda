"""Prithvi-EO-2.0 for crop segmentation: the pretrained encoder, the neck and the UPerNet head that
TerraTorch's `multicrop.yaml` (NASA-IMPACT/Prithvi-EO-2.0) builds, written here in plain PyTorch.

Read from the public code (IBM/terratorch `models/backbones/prithvi_mae.py`, `prithvi_vit.py`,
`models/necks.py`, `models/decoders/upernet_decoder.py`, `models/heads/segmentation_head.py`,
`models/pixel_wise_model.py`) and written again, with the same module names so that state dicts
carry TerraTorch's key names:

- encoder: a 3D patch embedding (Conv3d, kernel 1 x p x p), the fixed 3D sin-cos position
  embedding (Prithvi-100M's, `sincos_3d`), for the TL variants a temporal encoding (sin-cos of the
  year on half the channels, of the day of year on the other half, one per frame, repeated over
  the frame's tokens) and a location encoding (sin-cos of latitude, then of longitude, added to
  every token), each times a learned scale; timm blocks; the last block's output normed.
- neck: four block outputs (5/11/17/23 of 300M's 24, 7/15/23/31 of 600M's 32; the last is the
  normed one), each reshaped "(t h w) e -> (t e) h w" to T*D channels on the token grid.
- decoder: UPerNet (a pyramid pooling module on the last level, lateral 1x1 and 3x3 FPN convs,
  the fused bottleneck), conv + BatchNorm + ReLU modules, bilinear resizes with align_corners.
- head: dropout (inference: none) and a 1x1 conv to the classes; the logits resized (bilinear)
  from the token grid to the window.

Conventions of the TL inputs, from the model's code: `temporal_coords [B, T, 2]` is (year, day of
year) per frame, the day of year 1-based (1 = 1 January: the model card's "1-365" and the model
repository's inference.py, which reads HLS's YYYYDDD; TerraTorch's crop dataset and docs subtract
1); `location_coords [B, 2]` is (latitude, longitude) in degrees: the encoder embeds column 0 as
`lat` and column 1 as `lon` (TerraTorch's docs call it "longitude, latitude", its crop dataset
builds (lat, lon)). The temporal encoding divides the tokens by the configured frame count, so a
graph takes exactly `frames` dates.

The chip's 18 channels are time-major (t1's six bands, then t2's, t3's), so the graph reads them
as (B, T, 6, H, W) and moves the bands first: frame t is date t, whose (year, day) it is given.
(TerraTorch's crop dataset reads the same files as "(channels time)", Prithvi-100M's plain
reshape, which mixes dates into bands; with a date per frame only the time-major reading holds.)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from export_common import CheckpointError, check_keys, load_state_strict, seeded_parameters
from prithvi_export import Block, sincos_3d


@dataclass(frozen=True)
class Arch:
    img_size: int = 224
    patch_size: int = 16
    frames: int = 3
    bands: int = 6
    embed_dim: int = 1024
    depth: int = 24
    heads: int = 16
    mlp_ratio: float = 4.0
    # The TL variants' temporal and location encodings.
    coords: bool = False
    out_indices: tuple[int, ...] = (5, 11, 17, 23)
    decoder_channels: int = 256
    pool_scales: tuple[int, ...] = (1, 2, 3, 6)
    classes: int = 13
    # The pretrained MAE's decoder, whose weights the backbone files carry (checked, then dropped).
    mae_decoder_dim: int = 512
    mae_decoder_depth: int = 8
    mae_frames: int = 4


_300M = Arch()
_600M = Arch(patch_size=14, embed_dim=1280, depth=32, out_indices=(7, 15, 23, 31))
# Reduced: the same operators (3D patch embedding, coords encodings, four neck levels, the whole
# UPerNet with its four pool scales) with fewer, narrower layers, for tests on a CPU.
_REDUCED = dict(embed_dim=32, depth=4, heads=4, out_indices=(0, 1, 2, 3), decoder_channels=16, mae_decoder_dim=16, mae_decoder_depth=1)

ARCHS: dict[str, dict[str, Arch]] = {
    "prithvi-eo2-300m": {"full": _300M, "reduced": replace(_300M, **_REDUCED)},
    "prithvi-eo2-300m-tl": {"full": replace(_300M, coords=True), "reduced": replace(_300M, coords=True, **_REDUCED)},
    "prithvi-eo2-600m": {"full": _600M, "reduced": replace(_600M, **_REDUCED)},
    "prithvi-eo2-600m-tl": {"full": replace(_600M, coords=True), "reduced": replace(_600M, coords=True, **_REDUCED)},
}
# The pretrained backbones on the hub (ibm-nasa-geospatial/Prithvi-EO-2.0-*), by model.
BACKBONE_FILES = {
    "prithvi-eo2-300m": "Prithvi_EO_V2_300M.pt",
    "prithvi-eo2-300m-tl": "Prithvi_EO_V2_300M_TL.pt",
    "prithvi-eo2-600m": "Prithvi_EO_V2_600M.pt",
    "prithvi-eo2-600m-tl": "Prithvi_EO_V2_600M_TL.pt",
}


def arch_for(model: str, size: str, img_size: int | None = None) -> Arch:
    """The named architecture, at another window side for the reduced size only (the full models'
    position embedding is made for 224)."""
    a = ARCHS[model][size]
    if img_size is None or img_size == a.img_size:
        return a
    if size == "full" or img_size % a.patch_size or img_size < a.patch_size:
        print(f"crop-map: --img-size {img_size}: {model} {size} takes {a.img_size} (reduced: a multiple of {a.patch_size})", file=sys.stderr)
        raise SystemExit(2)
    return replace(a, img_size=img_size)


def sincos_torch(dim: int, positions: torch.Tensor, omega: torch.Tensor) -> torch.Tensor:
    """1D sin-cos of float positions (any shape) with the frequencies `omega` (dim / 2 of them):
    positions' shape + [dim], the sines first."""
    angles = positions.unsqueeze(-1) * omega
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


def frequencies(dim: int) -> torch.Tensor:
    """1 / 10000^(i / (dim / 2)) for i < dim / 2, in float32 as the model's torch encoder makes them."""
    omega = torch.arange(dim // 2, dtype=torch.float32) / (dim / 2.0)
    return 1.0 / 10000**omega


class CoordsEncoder(nn.Module):
    """Two quantities, each sin-cos encoded on half the channels (the first on dim // 2), times a
    learned scale: TerraTorch's TemporalEncoder (year, day of year) and LocationEncoder (lat, lon)."""

    def __init__(self, dim: int):
        super().__init__()
        self.first, self.second = dim // 2, dim - dim // 2
        self.scale = nn.Parameter(torch.full((1,), 0.1))
        self.register_buffer("omega_first", frequencies(self.first), persistent=False)
        self.register_buffer("omega_second", frequencies(self.second), persistent=False)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        """[..., 2] -> [..., dim]."""
        a = sincos_torch(self.first, coords[..., 0], self.omega_first)
        b = sincos_torch(self.second, coords[..., 1], self.omega_second)
        return self.scale * torch.cat([a, b], dim=-1)


class PatchEmbed(nn.Module):
    def __init__(self, a: Arch):
        super().__init__()
        k = (1, a.patch_size, a.patch_size)
        self.proj = nn.Conv3d(a.bands, a.embed_dim, kernel_size=k, stride=k)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class PrithviViT(nn.Module):
    """The encoder: [B, bands, T, H, W] (+ coords) -> the outputs of every block, the last normed."""

    def __init__(self, a: Arch):
        super().__init__()
        self.arch = a
        side = a.img_size // a.patch_size
        self.patch_embed = PatchEmbed(a)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, a.embed_dim))
        pos = torch.from_numpy(sincos_3d(a.embed_dim, (a.frames, side, side))).float().unsqueeze(0)
        self.register_buffer("pos_embed", pos)
        if a.coords:
            self.temporal_embed_enc = CoordsEncoder(a.embed_dim)
            self.location_embed_enc = CoordsEncoder(a.embed_dim)
        self.blocks = nn.ModuleList([Block(a.embed_dim, a.heads, a.mlp_ratio) for _ in range(a.depth)])
        self.norm = nn.LayerNorm(a.embed_dim)

    def forward(self, x, temporal_coords=None, location_coords=None) -> list[torch.Tensor]:
        a = self.arch
        x = self.patch_embed(x) + self.pos_embed[:, 1:, :]
        if a.coords:
            b, tokens = x.shape[0], x.shape[1] // a.frames
            # One encoding per frame over that frame's tokens: tokens are ordered (t, h, w).
            t = self.temporal_embed_enc(temporal_coords)
            x = x + t.unsqueeze(2).expand(b, a.frames, tokens, a.embed_dim).reshape(b, a.frames * tokens, a.embed_dim)
            x = x + self.location_embed_enc(location_coords).unsqueeze(1)
        cls = (self.cls_token + self.pos_embed[:, :1, :]).expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1)
        out = []
        for block in self.blocks:
            x = block(x)
            out.append(x)
        out[-1] = self.norm(x)
        return out


def tokens_to_image(x: torch.Tensor, a: Arch) -> torch.Tensor:
    """[B, 1 + T*h*w, D] -> [B, T*D, h, w], the cls token dropped: "(t h w) e -> (t e) h w"."""
    side = a.img_size // a.patch_size
    x = x[:, 1:, :].reshape(x.shape[0], a.frames, side, side, a.embed_dim)
    return x.permute(0, 1, 4, 2, 3).reshape(x.shape[0], a.frames * a.embed_dim, side, side)


class ConvModule(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False)
        self.norm = nn.BatchNorm2d(cout)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


def pooling_matrix(size: int, bins: int) -> torch.Tensor:
    """[bins, size]: row i averages [floor(i*size/bins), ceil((i+1)*size/bins)), as adaptive
    average pooling does."""
    m = torch.zeros(bins, size)
    for i in range(bins):
        start, end = (i * size) // bins, -((-(i + 1) * size) // bins)
        m[i, start:end] = 1.0 / (end - start)
    return m


class AdaptiveAvgPool(nn.Module):
    """nn.AdaptiveAvgPool2d(bins) on a fixed square input, as two matrix products: ONNX has no
    adaptive pooling to a size that does not divide the input (14 tokens into 3 or 6 bins)."""

    def __init__(self, size: int, bins: int):
        super().__init__()
        self.register_buffer("rows", pooling_matrix(size, bins), persistent=False)

    def forward(self, x):
        return self.rows @ x @ self.rows.transpose(0, 1)


def resize(x: torch.Tensor, size) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


class UperNetDecoder(nn.Module):
    def __init__(self, a: Arch):
        super().__init__()
        c, cin = a.decoder_channels, a.embed_dim * a.frames
        side = a.img_size // a.patch_size
        levels = len(a.out_indices)
        self.psp_modules = nn.ModuleList(
            [nn.Sequential(AdaptiveAvgPool(side, s), ConvModule(cin, c, 1)) for s in a.pool_scales]
        )
        self.bottleneck = ConvModule(cin + len(a.pool_scales) * c, c, 3)
        self.lateral_convs = nn.ModuleList([ConvModule(cin, c, 1) for _ in range(levels - 1)])
        self.fpn_convs = nn.ModuleList([ConvModule(c, c, 3) for _ in range(levels - 1)])
        self.fpn_bottleneck = ConvModule(levels * c, c, 3)

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        top = inputs[-1]
        psp = [top] + [resize(m(top), top.shape[2:]) for m in self.psp_modules]
        laterals = [conv(inputs[i]) for i, conv in enumerate(self.lateral_convs)]
        laterals.append(self.bottleneck(torch.cat(psp, dim=1)))
        # The top-down path; a plain ViT's levels share the token grid, where the resizes are identities.
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + resize(laterals[i], laterals[i - 1].shape[2:])
        outs = [conv(laterals[i]) for i, conv in enumerate(self.fpn_convs)] + [laterals[-1]]
        outs = [outs[0]] + [resize(o, outs[0].shape[2:]) for o in outs[1:]]
        return self.fpn_bottleneck(torch.cat(outs, dim=1))


class SegmentationHead(nn.Module):
    def __init__(self, a: Arch):
        super().__init__()
        # TerraTorch's layout: no pre-head convs, dropout 0.1 (multicrop.yaml's head_dropout), 1x1 conv.
        self.head = nn.Sequential(nn.Identity(), nn.Dropout(0.1), nn.Conv2d(a.decoder_channels, a.classes, 1))

    def forward(self, x):
        return self.head(x)


class PrithviEO2Crop(nn.Module):
    """[B, frames*bands, H, W] time-major (+ [B, T, 2] and [B, 2] when TL) -> [B, classes, H, W]."""

    def __init__(self, a: Arch):
        super().__init__()
        self.arch = a
        self.encoder = PrithviViT(a)
        self.decoder = UperNetDecoder(a)
        self.head = SegmentationHead(a)

    def forward(self, hls, temporal_coords=None, location_coords=None):
        a = self.arch
        x = hls.reshape(-1, a.frames, a.bands, a.img_size, a.img_size).permute(0, 2, 1, 3, 4)
        features = self.encoder(x, temporal_coords, location_coords)
        levels = [tokens_to_image(features[i], a) for i in a.out_indices]
        logits = self.head(self.decoder(levels))
        return F.interpolate(logits, size=(a.img_size, a.img_size), mode="bilinear")


def randomize(model: PrithviEO2Crop, seed: int) -> None:
    """Seeded random weights, norm statistics included; TL scales of 0.5, so dates and places
    move the logits (pretraining leaves them learned, initialised at 0.1)."""
    seeded_parameters(model, seed, fixed=set())
    with torch.no_grad():
        nn.init.trunc_normal_(model.encoder.cls_token, std=0.02)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
        if model.arch.coords:
            model.encoder.temporal_embed_enc.scale.fill_(0.5)
            model.encoder.location_embed_enc.scale.fill_(0.5)


def backbone_keys(a: Arch) -> dict[str, list[int]]:
    """Every key of a pretrained Prithvi-EO-2.0 file (the PrithviMAE state dict) and its shape, as
    the public code builds it: `encoder.*` (the encoder, its position embedding made for the
    pretraining's frames) and `decoder.*` (the MAE decoder), with the TL variants' scales."""
    d, m = a.embed_dim, a.mae_decoder_dim
    side = a.img_size // a.patch_size
    tokens = 1 + a.mae_frames * side * side
    keys: dict[str, list[int]] = {
        "encoder.cls_token": [1, 1, d],
        "encoder.pos_embed": [1, tokens, d],
        "encoder.patch_embed.proj.weight": [d, a.bands, 1, a.patch_size, a.patch_size],
        "encoder.patch_embed.proj.bias": [d],
    }
    if a.coords:
        keys |= {"encoder.temporal_embed_enc.scale": [1], "encoder.location_embed_enc.scale": [1]}

    def blocks(prefix: str, n: int, dim: int) -> None:
        hidden = int(dim * a.mlp_ratio)
        for i in range(n):
            p = f"{prefix}.{i}"
            keys.update(
                {
                    f"{p}.norm1.weight": [dim], f"{p}.norm1.bias": [dim],
                    f"{p}.attn.qkv.weight": [3 * dim, dim], f"{p}.attn.qkv.bias": [3 * dim],
                    f"{p}.attn.proj.weight": [dim, dim], f"{p}.attn.proj.bias": [dim],
                    f"{p}.norm2.weight": [dim], f"{p}.norm2.bias": [dim],
                    f"{p}.mlp.fc1.weight": [hidden, dim], f"{p}.mlp.fc1.bias": [hidden],
                    f"{p}.mlp.fc2.weight": [dim, hidden], f"{p}.mlp.fc2.bias": [dim],
                }
            )  # fmt: skip

    blocks("encoder.blocks", a.depth, d)
    keys |= {"encoder.norm.weight": [d], "encoder.norm.bias": [d]}
    keys |= {
        "decoder.decoder_embed.weight": [m, d],
        "decoder.decoder_embed.bias": [m],
        "decoder.mask_token": [1, 1, m],
        "decoder.decoder_pos_embed": [1, tokens, m],
    }
    if a.coords:
        keys |= {"decoder.temporal_embed_dec.scale": [1], "decoder.location_embed_dec.scale": [1]}
    blocks("decoder.decoder_blocks", a.mae_decoder_depth, m)
    keys |= {
        "decoder.decoder_norm.weight": [m],
        "decoder.decoder_norm.bias": [m],
        "decoder.decoder_pred.weight": [a.patch_size * a.patch_size * a.bands, m],
        "decoder.decoder_pred.bias": [a.patch_size * a.patch_size * a.bands],
    }
    return keys


def read_state(path: Path) -> dict:
    raw = torch.load(path, map_location="cpu", weights_only=True)
    state = raw.get("state_dict", raw) if isinstance(raw, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: not a state dict of tensors")
    return state


def load_backbone_strict(model: PrithviEO2Crop, path: Path) -> dict:
    """A pretrained Prithvi-EO-2.0 file into model.encoder, strictly by its own key names: every key
    of `backbone_keys` present with its shape and no other; the MAE decoder's checked and dropped;
    the position embedding (made for the pretraining's 4 frames) replaced by ours for our frames,
    as TerraTorch does. The UPerNet decoder and head keep their initial weights."""
    state = read_state(path)
    # The position embeddings' token counts follow the pretraining's frames; their widths must match.
    wanted = backbone_keys(model.arch)
    check_keys(wanted, state, path, fits=lambda k, shape: k.endswith("pos_embed") and shape[-1] == wanted[k][-1])
    encoder = {k.removeprefix("encoder."): v for k, v in state.items() if k.startswith("encoder.")}
    encoder["pos_embed"] = model.encoder.pos_embed.detach().clone()
    load_state_strict(model.encoder, encoder, path)
    return {"backboneKeys": len(state), "loaded": len(encoder) - 1, "dropped": len(state) - len(encoder)}


def load_checkpoint_strict(model: PrithviEO2Crop, path: Path) -> dict:
    """A whole fine-tuned model (`crop-map train`'s best.pt: {"state_dict": ...}), strictly."""
    state = read_state(path)
    load_state_strict(model, state, path)
    return {"keys": len(state)}


def synthetic_backbone(model: PrithviEO2Crop, seed: int) -> dict:
    """A file in the pretrained backbones' layout: our encoder's weights (the position embedding made
    for the pretraining's frames) and seeded random MAE decoder weights, every key of
    `backbone_keys` with its shape; what tests load in place of the hub's files."""
    g = torch.Generator().manual_seed(seed + 2)
    a = model.arch
    state = {f"encoder.{k}": v.clone() for k, v in model.encoder.state_dict().items()}
    side = a.img_size // a.patch_size
    state["encoder.pos_embed"] = torch.from_numpy(sincos_3d(a.embed_dim, (a.mae_frames, side, side))).float().unsqueeze(0)
    for k, shape in backbone_keys(a).items():
        if k.startswith("decoder."):
            state[k] = torch.randn(*shape, generator=g)
    return state


def list_keys(model_name: str, size: str) -> dict:
    """The backbone's key list and the whole model's, with shapes, built on the meta device (no
    weights, so the full 600M lists in a second)."""
    a = arch_for(model_name, size)
    with torch.device("meta"):
        model = PrithviEO2Crop(a)
    return {
        "model": model_name,
        "size": size,
        "backboneFile": BACKBONE_FILES[model_name],
        "backbone": backbone_keys(a),
        "fineTuned": {k: list(v.shape) for k, v in model.state_dict().items()},
    }


def parity_inputs(a: Arch, batch: int, g: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Normalised reflectance (roughly standard normal) and, when TL, CONUS dates and places."""
    x = torch.randn(batch, a.bands * a.frames, a.img_size, a.img_size, generator=g)
    if not a.coords:
        return (x,)
    years = torch.randint(2015, 2026, (batch, a.frames, 1), generator=g).float()
    days = torch.randint(1, 366, (batch, a.frames, 1), generator=g).float()
    lat = 25 + 24 * torch.rand(batch, 1, generator=g)
    lon = -125 + 58 * torch.rand(batch, 1, generator=g)
    return (x, torch.cat([years, days], dim=-1), torch.cat([lat, lon], dim=-1))

