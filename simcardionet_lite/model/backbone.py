"""SimCardioNet: a multi-scale residual CNN with multi-head self-attention (our reading of the paper).

The paper states only "a custom multi-scale CNN backbone with residual connections and
multi-head self-attention". Everything concrete below is ours and lives in
:class:`~simcardionet_lite.config.ModelConfig`:

* **stem** (ours): a 3x3 convolution that by default (``stem_stride=2``) halves the page once;
  ECG pages are large and mostly white, so the first layer can afford to be coarse. With lead
  panels of 48 x 96 pixels the traces are 1-2 pixels wide, so ``stem_stride=1`` keeps them at
  full resolution for the first stage.
* **stages of multi-scale residual blocks** (paper: multi-scale + residual; the block is ours):
  parallel convolution branches with different kernel sizes (``branch_kernels``) look at the
  trace at several widths at once (a QRS complex is narrow, a T wave or an ST segment is wide),
  a 1x1 convolution fuses them, batch normalisation, and a residual shortcut keeps gradients
  flowing. Each stage halves the resolution.
* **multi-head self-attention** (paper) over the last stage's spatial tokens with a fixed 2D
  sinusoidal position encoding (ours), so that a token can relate, e.g., lead II's panel to lead
  V2's panel far away on the page. ``attention=False`` is the ablation.
* **lead-panel tokens** (ours, ``tokens="tiles"``): instead of attending over feature-map
  positions, the input is cut into a ``tile_grid`` of tiles (with ``data.panels``, the 12 lead
  panels and 4 pieces of the rhythm strip), every tile goes through the same stem and stages,
  is averaged to one token, gets a learned embedding of its position (which lead it is) and
  the self-attention block relates the leads; the tokens are averaged to the feature vector.
  Why: a whole-page CNN has to discover where each lead is printed; on a known layout the
  panels can be given to it, and one shared encoder sees 16 times as many panel examples.
* **pooling** to a feature vector (ours, ``pool``): global average pooling (``"avg"``, the
  default) or, with ``pool="grid"``, an average over each cell of a coarse ``pool_grid`` of
  page regions, concatenated. Why the option: on a 12-lead page *where* a feature fires says
  which lead it is on (an ST shift in V1-V4 is a different finding from one in II/III/aVF);
  global averaging discards that. A projection head (pretraining) and a classifier head
  (fine-tuning) follow, see :mod:`simcardionet_lite.model.heads`.

The model normalises its input internally (fixed mean/std buffer), so callers, augmentations
and Grad-CAM all work on images in [0, 1].
"""

from __future__ import annotations


from typing import Callable

import torch
from torch import nn

from simcardionet_lite.config import ModelConfig
from simcardionet_lite.model.heads import ClassifierHead, ProjectionHead

#: ``model.attn_form`` choices: our pre-norm block, or the standard (post-norm) transformer encoder layer
ATTN_FORMS = ("prenorm", "standard")
#: torch.nn.TransformerEncoderLayer's defaults, which ``attn_form="standard"`` follows
STANDARD_FF, STANDARD_DROPOUT = 2048, 0.1
#: ``model.block`` choices
BLOCKS = ("multiscale", "plain")

# ours: pages are mostly white; centring on mid-grey and scaling by 0.25 keeps inputs near unit scale
INPUT_MEAN = (0.5, 0.5, 0.5)
INPUT_STD = (0.25, 0.25, 0.25)


def register_input_norm(module: nn.Module, cfg: ModelConfig, num_classes: int) -> None:
    """The attributes every backbone of this package shares: its config, class count and the fixed
    input normalisation buffers (not saved: they are constants of the code)."""
    module.cfg = cfg
    module.num_classes = num_classes
    module.register_buffer("mean", torch.tensor(INPUT_MEAN).view(1, 3, 1, 1), persistent=False)
    module.register_buffer("std", torch.tensor(INPUT_STD).view(1, 3, 1, 1), persistent=False)


def conv_bn_relu(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    """A same-padded convolution, batch norm and ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class PlainBlock(nn.Module):
    """One 3x3 convolution, batch norm and ReLU, then (``stride=2``) 2x2 max pooling; no branches, no shortcut.

    Why it exists (``model.block="plain"``, ours): it is the encoder of issue #17's exploratory
    lead-panel network, a plain CNN, kept as an option so the book can measure what the paper's
    multi-scale residual block adds over it. It is *not* the paper's block.
    """

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.kernels = (3,)
        self.conv = conv_bn_relu(cin, cout, 3)
        self.pool: nn.Module = nn.MaxPool2d(2) if stride == 2 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(x))


class MultiScaleBlock(nn.Module):
    """Parallel branches with different kernel sizes, fused by a 1x1 conv, plus a residual shortcut.

    Why: a single kernel size commits to one time scale of the trace; several branches let the
    block respond to narrow (QRS) and wide (ST/T) waveform parts at the same depth, and the 1x1
    fusion learns how to mix them. Branch widths split ``cout`` evenly (ours).
    """

    def __init__(self, cin: int, cout: int, kernels: tuple[int, ...], stride: int = 1) -> None:
        super().__init__()
        nb = len(kernels)
        widths = [cout // nb + (1 if i < cout % nb else 0) for i in range(nb)]
        self.kernels = tuple(kernels)
        self.branches = nn.ModuleList(conv_bn_relu(cin, w, k, stride) for w, k in zip(widths, kernels))
        self.fuse = nn.Sequential(nn.Conv2d(cout, cout, 1, bias=False), nn.BatchNorm2d(cout))
        if stride != 1 or cin != cout:
            self.shortcut: nn.Module = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
        else:
            self.shortcut = nn.Identity()
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([b(x) for b in self.branches], dim=1)
        return self.act(self.fuse(y) + self.shortcut(x))


def sincos_2d(h: int, w: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """Fixed 2D sinusoidal position encoding, (h*w) x dim: half the channels code the row, half the column.

    Why fixed (ours): it works at any page size without retraining and adds no parameters.
    """
    if dim % 4 != 0:
        raise ValueError(f"attention embedding dim must be divisible by 4 for the 2D encoding, got {dim}")
    q = dim // 4
    omega = 1.0 / (10000 ** (torch.arange(q, dtype=torch.float32, device=device) / q))
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=torch.float32, device=device), torch.arange(w, dtype=torch.float32, device=device), indexing="ij"
    )
    ys, xs = ys.reshape(-1, 1) * omega, xs.reshape(-1, 1) * omega
    return torch.cat([ys.sin(), ys.cos(), xs.sin(), xs.cos()], dim=1)


class SpatialSelfAttention(nn.Module):
    """A transformer block (``form``: pre-norm, ours, or the standard post-norm layer) over the spatial tokens of a feature map.

    Input N x C x h x w; output tokens N x (h*w) x C (so Grad-CAM on this module needs
    :attr:`SimCardioNet.cam_reshape_transform`). Set ``keep_attention = True`` to store the
    head-averaged attention weights of the last call in ``last_attention`` (for figures).
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 2.0, form: str = "prenorm") -> None:
        super().__init__()
        if dim % heads != 0:
            raise ValueError(f"attention dim {dim} must be divisible by attn_heads {heads}")
        if form not in ATTN_FORMS:
            raise ValueError(f"model.attn_form must be one of {list(ATTN_FORMS)}, got {form!r}")
        self.form = form
        standard = form == "standard"
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True, dropout=STANDARD_DROPOUT if standard else 0.0)
        self.norm2 = nn.LayerNorm(dim)
        if standard:
            self.mlp = nn.Sequential(nn.Linear(dim, STANDARD_FF), nn.ReLU(), nn.Dropout(STANDARD_DROPOUT),
                                     nn.Linear(STANDARD_FF, dim))
            self.drop1, self.drop2 = nn.Dropout(STANDARD_DROPOUT), nn.Dropout(STANDARD_DROPOUT)
        else:
            hidden = int(dim * mlp_ratio)
            self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.keep_attention = False
        self.last_attention: torch.Tensor | None = None
        self.last_hw: tuple[int, int] | None = None

    def _attend(self, q: torch.Tensor) -> torch.Tensor:
        a, weights = self.attn(q, q, q, need_weights=self.keep_attention, average_attn_weights=True)
        if self.keep_attention:
            self.last_attention = weights.detach()
        return a

    def block(self, t: torch.Tensor) -> torch.Tensor:
        """The transformer block on tokens N x L x C (position already added).

        ``prenorm`` (ours): ``t + attn(norm(t))``, then ``t + mlp(norm(t))``, no dropout.
        ``standard``: the original post-norm encoder layer, numerically
        ``torch.nn.TransformerEncoderLayer(dim, heads, batch_first=True)`` (tested against it).
        """
        if self.form == "standard":
            t = self.norm1(t + self.drop1(self._attend(t)))
            return self.norm2(t + self.drop2(self.mlp(t)))
        t = t + self._attend(self.norm1(t))
        return t + self.mlp(self.norm2(t))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        self.last_hw = (h, w)
        return self.block(x.flatten(2).transpose(1, 2) + sincos_2d(h, w, c, x.device).to(x.dtype))


class TileSelfAttention(SpatialSelfAttention):
    """The same transformer block over tile tokens N x L x C, with a learned embedding per tile.

    Why learned (ours): a tile's position names its lead (tile 0 is lead I, tile 5 is aVL on a
    mosaic), a fixed identity with no geometry between them to encode.
    """

    def __init__(self, dim: int, heads: int, n_tokens: int, mlp_ratio: float = 2.0, form: str = "prenorm") -> None:
        super().__init__(dim, heads, mlp_ratio, form)
        self.position = nn.Parameter(torch.zeros(1, n_tokens, dim))
        nn.init.trunc_normal_(self.position, std=0.02)

    def forward(self, t: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.block(t + self.position.to(t.dtype))


class TileMosaic(nn.Module):
    """Reassembles per-tile feature maps (N*T) x C x h x w into the mosaic N x C x (R*h) x (K*w).

    An identity on the numbers: it exists so that Grad-CAM has one module whose output is the
    spatial map of the whole input, tiles in their places (:attr:`SimCardioNet.cam_target_layer`).
    """

    def __init__(self, grid: tuple[int, int]) -> None:
        super().__init__()
        self.grid = grid

    def forward(self, m: torch.Tensor) -> torch.Tensor:
        rows, cols = self.grid
        nt, c, h, w = m.shape
        n = nt // (rows * cols)
        return m.view(n, rows, cols, c, h, w).permute(0, 3, 1, 4, 2, 5).reshape(n, c, rows * h, cols * w)


def split_tiles(x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """N x C x H x W -> (N*R*K) x C x (H/R) x (W/K), tiles in row-major order (H, W divisible by the grid)."""
    rows, cols = grid
    n, c, h, w = x.shape
    if h % rows or w % cols:
        raise ValueError(f"input {h} x {w} is not divisible by model.tile_grid {rows} x {cols}: "
                         f"set data.image_size to a multiple of it (e.g. [{rows * 48}, {cols * 96}])")
    th, tw = h // rows, w // cols
    return x.view(n, c, rows, th, cols, tw).permute(0, 2, 4, 1, 3, 5).reshape(n * rows * cols, c, th, tw)


class SimCardioNet(nn.Module):
    """The backbone plus projection and classifier heads (see the module docstring).

    ``forward(x)`` gives logits, ``features(x)`` the pooled N x D features, ``project(x)`` the
    N x ``proj_dim`` contrastive embedding.
    """

    def __init__(self, cfg: ModelConfig, num_classes: int) -> None:
        super().__init__()
        register_input_norm(self, cfg, num_classes)
        if cfg.stem_stride not in (1, 2):
            raise ValueError(f"model.stem_stride must be 1 or 2, got {cfg.stem_stride!r}")
        self.stem = conv_bn_relu(3, cfg.stem_channels, 3, stride=cfg.stem_stride)
        if len(cfg.blocks_per_stage) != len(cfg.stage_channels):
            raise ValueError("model.blocks_per_stage and model.stage_channels must have the same length")
        if cfg.block not in BLOCKS:
            raise ValueError(f"model.block must be one of {list(BLOCKS)}, got {cfg.block!r}")

        def make_block(cin: int, cout: int, stride: int) -> nn.Module:
            if cfg.block == "plain":
                return PlainBlock(cin, cout, stride)
            return MultiScaleBlock(cin, cout, tuple(cfg.branch_kernels), stride=stride)

        stages = []
        cin = cfg.stem_channels
        for cout, nblocks in zip(cfg.stage_channels, cfg.blocks_per_stage):
            blocks = [make_block(cin, cout, 2)] + [make_block(cout, cout, 1) for _ in range(nblocks - 1)]
            stages.append(nn.Sequential(*blocks))
            cin = cout
        self.stages = nn.ModuleList(stages)
        if cfg.pool not in ("avg", "grid"):
            raise ValueError(f"model.pool must be 'avg' or 'grid', got {cfg.pool!r}")
        gh, gw = (int(v) for v in cfg.pool_grid)
        if cfg.pool == "grid" and (gh < 1 or gw < 1):
            raise ValueError(f"model.pool_grid must be two positive integers, got {cfg.pool_grid!r}")
        self.pool_grid = (gh, gw) if cfg.pool == "grid" else (1, 1)
        if cfg.tokens not in ("spatial", "tiles"):
            raise ValueError(f"model.tokens must be 'spatial' or 'tiles', got {cfg.tokens!r}")
        self.tile_grid: tuple[int, int] | None = None
        self.mosaic: TileMosaic | None = None
        self.attention: SpatialSelfAttention | None
        if cfg.tokens == "tiles":
            rows, cols = (int(v) for v in cfg.tile_grid)
            if rows < 1 or cols < 1:
                raise ValueError(f"model.tile_grid must be two positive integers, got {cfg.tile_grid!r}")
            if cfg.pool != "avg":
                raise ValueError("model.pool='grid' pools page regions; with model.tokens='tiles' each tile is a token: use pool='avg'")
            self.tile_grid = (rows, cols)
            self.mosaic = TileMosaic(self.tile_grid)
            self.attention = TileSelfAttention(cin, cfg.attn_heads, rows * cols, form=cfg.attn_form) if cfg.attention else None
        else:
            self.attention = SpatialSelfAttention(cin, cfg.attn_heads, form=cfg.attn_form) if cfg.attention else None
        self.feature_dim = cin * self.pool_grid[0] * self.pool_grid[1]
        self.projector = ProjectionHead(self.feature_dim, cfg.proj_hidden, cfg.proj_dim)
        self.head = ClassifierHead(self.feature_dim, num_classes, cfg.dropout)

    # ---- forward paths -------------------------------------------------------------------
    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's spatial map N x C x h x w (before attention); with tiles, the mosaic of the tiles' maps."""
        x = (x - self.mean) / self.std
        if self.tile_grid is not None:
            x = split_tiles(x, self.tile_grid)
        x = self.stem(x)
        for s in self.stages:
            x = s(x)
        return self.mosaic(x) if self.mosaic is not None else x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features N x D: attention over spatial tokens (if on), then pooling (``cfg.pool``).

        ``"avg"``: D = C, the mean over all positions. ``"grid"``: D = C * rows * cols, the mean
        over each cell of ``pool_grid`` (adaptive pooling, so any page size works), flattened
        channel-major.
        """
        m = self.feature_map(x)
        if self.tile_grid is not None:
            rows, cols = self.tile_grid
            n, c, hh, ww = m.shape
            # one token per tile: the mean of its own part of the mosaic map
            t = m.view(n, c, rows, hh // rows, cols, ww // cols).mean(dim=(3, 5)).flatten(2).transpose(1, 2)
            if self.attention is not None:
                t = self.attention(t)
            return t.mean(dim=1)
        if self.attention is not None:
            t = self.attention(m)
            if self.pool_grid == (1, 1):
                return t.mean(dim=1)
            n, _, c = t.shape
            m = t.transpose(1, 2).reshape(n, c, m.shape[2], m.shape[3])
        if self.pool_grid == (1, 1):
            return m.mean(dim=(2, 3))
        return nn.functional.adaptive_avg_pool2d(m, self.pool_grid).flatten(1)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Contrastive embedding N x proj_dim (unnormalised; the loss normalises)."""
        return self.projector(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    # ---- structure used by fine-tuning and Grad-CAM ---------------------------------------
    def layer_groups(self) -> dict[str, list[nn.Module]]:
        """Named groups for progressive unfreezing: ``stem, stage1..stageK, attention, head``.

        ``attention`` is an empty list when attention is off. The projection head is not in any
        group: fine-tuning does not use it. The keyword ``all`` is resolved by the unfreezer.
        """
        groups: dict[str, list[nn.Module]] = {"stem": [self.stem]}
        for i, s in enumerate(self.stages, start=1):
            groups[f"stage{i}"] = [s]
        groups["attention"] = [self.attention] if self.attention is not None else []
        groups["head"] = [self.head]
        return groups

    @property
    def cam_target_layer(self) -> nn.Module:
        """The module whose output is the last spatial feature map (the last stage; with tiles, their mosaic)."""
        return self.mosaic if self.mosaic is not None else self.stages[-1]

    @property
    def cam_reshape_transform(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """Maps the attention block's token output N x L x C back to N x C x h x w (None if attention is off).

        Only needed when someone hooks :attr:`attention` instead of :attr:`cam_target_layer`. With
        tile tokens the map is the tile grid itself (N x C x rows x cols, one cell per lead panel):
        a lead-level CAM, which Grad-CAM upsamples to the page like any other map.
        """
        if self.attention is None:
            return None
        att, grid = self.attention, self.tile_grid

        def reshape(t: torch.Tensor) -> torch.Tensor:
            if t.dim() == 4:
                return t
            h, w = grid if grid is not None else att.last_hw  # type: ignore[misc]
            return t.transpose(1, 2).reshape(t.shape[0], t.shape[2], h, w)

        return reshape

    def branch_receptive_fields(self) -> list[dict[str, object]]:
        """Receptive field (in input pixels) of each branch of each stage's first block.

        Why: the book shows how the parallel kernels see the trace at different widths. The
        stem (3x3, stride ``stem_stride``) gives RF 3 and jump ``stem_stride``; each block's branch adds (k-1)*jump.
        A plain block convolves before it pools, so its 2x2 max pooling adds one more jump.
        """
        rf, jump = 3, int(self.cfg.stem_stride)
        out = []
        for i, stage in enumerate(self.stages, start=1):
            first = stage[0]
            out.append({"stage": f"stage{i}", "kernels": first.kernels, "rf": [rf + (k - 1) * jump for k in first.kernels]})
            kmax = max(first.kernels)
            rf = rf + (kmax - 1) * jump + (jump if isinstance(first, PlainBlock) else 0)
            jump = jump * 2
            for blk in list(stage)[1:]:
                rf += (max(blk.kernels) - 1) * jump
        return out

    def complexity(self, input_size: tuple[int, int]) -> dict[str, float]:
        """Parameters (backbone + classifier; projector separately) and FLOPs of one image's forward pass.

        FLOPs are counted by ``torch.utils.flop_counter`` (a multiply-add counts 2).
        """
        from torch.utils.flop_counter import FlopCounterMode

        h, w = input_size
        was_training = self.training
        self.eval()
        x = torch.zeros(1, 3, h, w, device=self.mean.device)
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            self(x)
        self.train(was_training)
        proj = sum(p.numel() for p in self.projector.parameters())
        total = sum(p.numel() for p in self.parameters())
        return {"params": float(total - proj), "params_projector": float(proj), "flops": float(fc.get_total_flops()),
                "input_size": [h, w]}


def count_trainable(model: nn.Module) -> int:
    """Number of parameters with ``requires_grad``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["SimCardioNet", "MultiScaleBlock", "PlainBlock", "SpatialSelfAttention", "TileSelfAttention", "TileMosaic", "split_tiles", "sincos_2d", "count_trainable", "INPUT_MEAN", "INPUT_STD"]

