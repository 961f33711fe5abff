"""A fast CIFAR-10 training recipe after airbench (Keller Jordan 2024,
github.com/KellerJordan/cifar10-airbench, `legacy/airbench94.py`), made configurable for the networks the
notebooks compare, and a seeded training loop that resumes from a checkpoint to the same bits.

What is kept from airbench94: Normalize, then a frozen 2x2 patch-whitening convolution (the eigenvectors of
the training patches' covariance, +/-, scaled by 1/sqrt(eigenvalue); its bias trains for the first epochs
only), GELU; conv groups of 3x3 convolutions (dirac-initialised), BatchNorm (momentum 0.6 in airbench's
convention, eps 1e-12, scale frozen at 1, bias with a 64x learning rate); global max pooling, a linear layer
without bias, logits scaled by 1/9; label smoothing 0.2; Nesterov SGD with momentum 0.85 in airbench's
decoupled form (lr 11.5 and weight decay 0.0153 per 1,024 examples, loss summed over the batch); learning
rate warm-up from 0.2x over 23% of the steps, then linear decay to 0.07x; alternating flips (each image
flipped at random in epoch 0, all of them flipped every other epoch) and random translation by up to 2 px
(reflect padding); flip test-time augmentation (TTA). Left out: lookahead EMA, translate TTA, fp16 weights.

What changes, so that the notebooks' variants are one family (`Net`):
- the whitening pads one pixel at the bottom and right (zeros or circular) so maps keep even sides;
- each group is conv -> BatchNorm -> GELU -> subsample -> (depth - 1) x [conv -> BatchNorm -> GELU], where
  airbench max-pools after the first conv. The subsampling operator is the variant: "stride" keeps the
  (0, 0) polyphase component (computed as a stride-2 first conv, which is the same in eval mode since
  BatchNorm and GELU act per pixel), "blurpool" blurs with a 3x3 binomial first (timm's BlurPool2d,
  Zhang 2019: blur after the nonlinearity), "aps" keeps each image's largest-norm polyphase component
  (polyphase.APSDownsample; Chaman & Dokmanic 2021). blurpool and aps run the first conv at full
  resolution, so they cost more per epoch than stride;
- padding (zeros or circular) applies to every convolution, the whitening and the blur; with aps and
  circular padding the network is invariant to circular shifts of its input up to float rounding;
- inputs may be 32x32 CIFAR-10 (random translation) or objects placed on a black canvas by a
  `PlacementDistribution` (the placement is then the augmentation; no translation).

Determinism: the initial weights come from the seed; the data order and augmentation of step k come from
generators seeded by (seed, epoch, batch), so a run resumed from a checkpoint at step k computes the same
batches as one that never stopped; the checkpoint holds weights, BatchNorm statistics and momentum
buffers. With the same device, precision, thread count and library versions, an interrupted and resumed run
gives the same bits as an uninterrupted one (tests/test_weights.py checks it).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from timm.layers import BlurPool2d
from torch import nn
from torch.nn import functional as F

from invariance.core import allocator, files
from invariance.core.progress import bar as progress_bar
from invariance.kernels.polyphase import APSDownsample
from invariance.kernels.transforms import paste
from invariance.sources.cifar import CLASSES, Split
from invariance.training.placement import PlacementDistribution

log = logging.getLogger(__name__)

RECIPE_VERSION = "1"  # bump when the recipe or loop changes what a configuration produces
DOWNSAMPLING = ("stride", "blurpool", "aps")
PADDING = ("zeros", "circular")  # torch's padding_mode names
PRECISIONS = ("fp32", "bf16")
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


@dataclass(frozen=True)
class Net:
    """The network family: whitening, then one group per width, each halving the resolution (total stride
    2^len(widths)), global max pooling, a linear layer. depth: conv blocks per group (airbench: 2)."""

    widths: tuple[int, ...] = (32, 64, 128)
    depth: int = 2
    downsampling: str = "stride"
    padding: str = "zeros"
    whiten_kernel: int = 2

    def __post_init__(self) -> None:
        if self.downsampling not in DOWNSAMPLING:
            raise ValueError(f"downsampling must be one of {DOWNSAMPLING}, not {self.downsampling!r}")
        if self.padding not in PADDING:
            raise ValueError(f"padding must be one of {PADDING}, not {self.padding!r}")
        if self.depth < 1 or not self.widths:
            raise ValueError(f"a network needs depth >= 1 and widths, got {self.depth}, {self.widths}")

    @property
    def total_stride(self) -> int:
        return 2 ** len(self.widths)


@dataclass(frozen=True)
class Recipe:
    """Everything one trained network depends on besides the data and the numerics (precision, device)."""

    net: Net = field(default_factory=Net)
    placement: PlacementDistribution | None = None  # None: 32x32 CIFAR-10 with random translation
    epochs: float = 8.0
    batch_size: int = 256
    lr: float = 11.5  # per 1,024 examples, airbench's decoupled form (see optimizer)
    momentum: float = 0.85
    weight_decay: float = 0.0153  # per 1,024 examples, decoupled from the learning rate
    bias_scaler: float = 64.0  # BatchNorm biases: learning rate x this, weight decay unchanged
    label_smoothing: float = 0.2
    warmup: float = 0.23  # fraction of the steps with the learning rate rising from 0.2x to 1x
    final_lr: float = 0.07  # the learning rate's last factor after the linear decay
    whiten_bias_epochs: float = 3.0
    translate: int = 2  # 32x32 inputs only: random shifts up to this many pixels, reflect padding
    flip: bool = True  # alternating flips
    bn_momentum: float = 0.6  # airbench's convention: running = 0.6 * running + 0.4 * batch
    seed: int = 0

    def steps_per_epoch(self, n_train: int) -> int:
        """Full batches per epoch (the last partial batch is dropped, as airbench does)."""
        return n_train // self.batch_size

    def total_steps(self, n_train: int) -> int:
        return math.ceil(self.epochs * self.steps_per_epoch(n_train))

    @property
    def input_size(self) -> int:
        return self.placement.canvas if self.placement is not None else 32


# --- the network ---------------------------------------------------------------------------------------


class Normalize(nn.Module):
    """(B, 3, H, W) in [0, 1] -> standardised by CIFAR-10's channel statistics (inside the network, so that
    its input is the image or canvas itself, black = 0)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(CIFAR_MEAN).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(CIFAR_STD).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class Whitening(nn.Conv2d):
    """k x k patch whitening, padded by k - 1 at the bottom and right (zeros or circular) so that
    (B, 3, H, W) -> (B, 2 * 3 * k * k, H, W): sides stay multiples of the total stride (APS needs that) and
    circular shifts of the input shift the output the same way. Weights set by `init_whitening`, frozen."""

    def __init__(self, kernel: int, padding: str) -> None:
        super().__init__(3, 2 * 3 * kernel * kernel, kernel, padding=0, bias=True)
        self.pad_mode = "constant" if padding == "zeros" else padding
        self.weight.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel_size[0] - 1
        return super().forward(F.pad(x, (0, k, 0, k), mode=self.pad_mode))


class _ChannelsLastGrad(torch.autograd.Function):
    """Identity whose backward hands on its gradient in channels_last layout. The backward of padding and of
    indexing (circular padding, APS) builds gradients in the default layout; BatchNorm's and GELU's backward
    then mix layouts and took ~3x longer on this CPU (tools/recipe_budget.py; the APS network 3.1 -> 1.9
    CPU-s per 1,000 images). Values are the same up to the order of float sums."""

    @staticmethod
    def forward(ctx: object, x: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx: object, grad: torch.Tensor) -> torch.Tensor:
        return grad.contiguous(memory_format=torch.channels_last)


def channels_last_grad(x: torch.Tensor) -> torch.Tensor:
    """x (B, C, H, W), unchanged; its gradient comes back channels_last (`_ChannelsLastGrad`)."""
    return _ChannelsLastGrad.apply(x) if x.requires_grad else x


class Conv(nn.Conv2d):
    """3x3 convolution without bias, identity (dirac) initialised on its first in-channels, as airbench.
    Circular padding is done here (not by padding_mode) so that its input gradient stays channels_last."""

    def __init__(self, cin: int, cout: int, stride: int, padding: str) -> None:
        super().__init__(cin, cout, 3, stride, 1, bias=False)
        self.circular = padding == "circular"
        if self.circular:
            self.padding = (0, 0)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        w = self.weight.data
        nn.init.dirac_(w[: w.size(1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.circular:
            x = F.pad(channels_last_grad(x), (1, 1, 1, 1), mode="circular")
            x = x.contiguous(memory_format=torch.channels_last)
        return super().forward(x)


class APS(APSDownsample):
    """polyphase.APSDownsample with its input gradient and its output in channels_last layout."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(channels_last_grad(x)).contiguous(memory_format=torch.channels_last)


class BatchNorm(nn.BatchNorm2d):
    """airbench's BatchNorm: eps 1e-12, scale frozen at 1, momentum in airbench's convention."""

    def __init__(self, width: int, momentum: float) -> None:
        super().__init__(width, eps=1e-12, momentum=1 - momentum)
        self.weight.requires_grad_(False)


class Scale(nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


class Blur(BlurPool2d):
    """timm's BlurPool2d (3x3 binomial, stride 2), computed in float32 even under bf16 autocast: its
    depthwise convolution took 3x longer in bf16 than in float32 on this CPU (228 vs 71 ms forward and
    backward for 256 x 32 x 32 x 32, one thread; benchmarks/logs/recipe-budget-*.log)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x.float())


def _subsample(net: Net, channels: int) -> nn.Module:
    if net.downsampling == "blurpool":
        return Blur(
            channels, filt_size=3, stride=2, pad_mode="constant" if net.padding == "zeros" else net.padding
        )
    if net.downsampling == "aps":
        return APS(2)
    return nn.Identity()  # stride: the group's first conv has stride 2


def make_network(net: Net, bn_momentum: float = 0.6, classes: int = len(CLASSES)) -> nn.Sequential:
    """The network for images or canvases (B, 3, N, N) in [0, 1], N a multiple of net.total_stride ->
    logits (B, classes). Untrained: the whitening is set by `init_whitening`."""
    k = net.whiten_kernel
    layers: OrderedDict[str, nn.Module] = OrderedDict(
        {
            "normalize": Normalize(),
            "whiten": Whitening(k, net.padding),
            "whiten_act": nn.GELU(),
        }
    )
    cin = 2 * 3 * k * k
    for g, width in enumerate(net.widths):
        for b in range(net.depth):
            stride = 2 if b == 0 and net.downsampling == "stride" else 1
            layers[f"g{g}b{b}_conv"] = Conv(cin, width, stride, net.padding)
            layers[f"g{g}b{b}_norm"] = BatchNorm(width, bn_momentum)
            layers[f"g{g}b{b}_act"] = nn.GELU()
            if b == 0 and net.downsampling != "stride":
                layers[f"g{g}_down"] = _subsample(net, width)
            cin = width
    layers["pool"] = nn.AdaptiveMaxPool2d(1)
    layers["flatten"] = nn.Flatten()
    layers["head"] = nn.Linear(cin, classes, bias=False)
    layers["scale"] = Scale(1 / 9)
    return nn.Sequential(layers)


def patches(images: torch.Tensor, kernel: int) -> torch.Tensor:
    """Every k x k patch of images (B, C, H, W): (B * (H - k + 1) * (W - k + 1), C, k, k) float32."""
    c = images.shape[1]
    return (
        images.unfold(2, kernel, 1)
        .unfold(3, kernel, 1)
        .transpose(1, 3)
        .reshape(-1, c, kernel, kernel)
        .float()
    )


@torch.no_grad()
def init_whitening(layer: Whitening, images: torch.Tensor, eps: float = 5e-4) -> None:
    """Set layer's weights to whiten the k x k patches of images (B, 3, H, W), uint8 or in [0, 1], as the
    network sees them (after Normalize), from their uncentred second moments as airbench does: the
    eigenvectors / sqrt(eigenvalue + eps), and their negatives (the GELU after it keeps both signs).
    Bias 0."""
    x = Normalize()(images.float().div(255) if images.dtype == torch.uint8 else images.float())
    p = patches(x, layer.kernel_size[0])
    flat = p.reshape(len(p), -1).double()  # float64: the smallest eigenvalues set the largest weights
    cov = flat.T @ flat / len(flat)
    values, vectors = torch.linalg.eigh(cov)
    values, vectors = values.flip(0), vectors.T.flip(0)  # largest first
    scaled = (vectors / torch.sqrt(values + eps)[:, None]).reshape(-1, *p.shape[1:]).float()
    layer.weight.copy_(torch.cat((scaled, -scaled)))
    layer.bias.zero_()


# --- data ----------------------------------------------------------------------------------------------


def _generator(*key: int) -> torch.Generator:
    """A CPU generator seeded from integers: the same key gives the same stream on any run."""
    seed = 0
    for k in key:
        seed = (seed * 1_000_003 + int(k)) % (2**63 - 1)
    return torch.Generator().manual_seed(seed)


def flip_mask(recipe: Recipe, n: int) -> torch.Tensor:
    """(n,) bool: which training images epoch 0 flips (alternating flips: epoch e flips mask XOR e odd)."""
    return torch.rand(n, generator=_generator(recipe.seed, 1)) < 0.5


def translate(images: torch.Tensor, shift: int, gen: torch.Generator) -> torch.Tensor:
    """Each image (B, C, S, S) moved by up to `shift` px per axis, reflect padding (airbench's crop)."""
    if shift == 0:
        return images
    b, _, s, _ = images.shape
    padded = F.pad(images, (shift,) * 4, mode="reflect")
    d = torch.randint(0, 2 * shift + 1, (b, 2), generator=gen)
    ar = torch.arange(s)
    rows = (d[:, 0, None] + ar)[:, None, :, None]  # (B, 1, S, 1)
    cols = (d[:, 1, None] + ar)[:, None, None, :]  # (B, 1, 1, S)
    return padded[
        torch.arange(b)[:, None, None, None], torch.arange(images.shape[1])[None, :, None, None], rows, cols
    ]


def training_batch(
    recipe: Recipe, data: Split, flips: torch.Tensor, step: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Step `step`'s batch: inputs (B, 3, N, N) float32 in [0, 1], channels_last, and labels (B,).

    A pure function of (recipe, data, step): the epoch's order comes from (seed, epoch), the batch's
    augmentation from (seed, epoch, batch), so resuming at any step recomputes the same batch."""
    per_epoch = recipe.steps_per_epoch(len(data))
    epoch, i = divmod(step, per_epoch)
    order = torch.randperm(len(data), generator=_generator(recipe.seed, 2, epoch))
    idx = order[i * recipe.batch_size : (i + 1) * recipe.batch_size]
    gen = _generator(recipe.seed, 3, epoch, i)
    objects = data.images[idx]
    if recipe.flip:
        flip = flips[idx] ^ bool(epoch % 2)
        objects = torch.where(flip[:, None, None, None], objects.flip(-1), objects)
    if recipe.placement is None:
        x = translate(objects.float().div_(255), recipe.translate, gen)
    else:
        offsets = recipe.placement.sample(len(idx), gen)
        x = paste(objects, offsets, recipe.placement.canvas, with_covered=False)[0].float().div_(255)
    return x.contiguous(memory_format=torch.channels_last), data.labels[idx]


# --- optimisation --------------------------------------------------------------------------------------


def lr_factor(step: int, total: int, recipe: Recipe) -> float:
    """airbench's schedule: 0.2 -> 1 linearly over the warm-up, then 1 -> final_lr linearly to the end."""
    warm = int(total * recipe.warmup)
    if step < warm:
        frac = step / warm
        return 0.2 * (1 - frac) + frac
    frac = (step - warm) / max(1, total - warm)
    return (1 - frac) + recipe.final_lr * frac


def optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.SGD:
    """Nesterov SGD in airbench's decoupled parametrisation, for a loss summed over the batch: the step size
    is lr / (1024 (1 + 1 / (1 - momentum))) per example, weight decay `weight_decay` per 1,024 examples
    whatever the learning rate; BatchNorm biases get bias_scaler x the learning rate."""
    scale = 1024 * (1 + 1 / (1 - recipe.momentum))
    lr = recipe.lr / scale
    wd = recipe.weight_decay * recipe.batch_size / scale
    norm = [p for m in model.modules() if isinstance(m, BatchNorm) for p in m.parameters() if p.requires_grad]
    ids = {id(p) for p in norm}
    other = [
        p for p in model.parameters() if id(p) not in ids and (p.requires_grad or p is model.whiten.bias)
    ]
    lr_bias = lr * recipe.bias_scaler
    groups = [
        {"params": norm, "lr": lr_bias, "weight_decay": wd / lr_bias, "base_lr": lr_bias},
        {"params": other, "lr": lr, "weight_decay": wd / lr, "base_lr": lr},
    ]
    return torch.optim.SGD(groups, momentum=recipe.momentum, nesterov=True)


# --- training ------------------------------------------------------------------------------------------


def native_bf16(device: str = "cpu") -> bool:
    """Whether bf16 autocast is a gain here: a CUDA GPU with bf16, or a CPU with native bf16 instructions
    (AVX512_BF16 or AMX). On an AVX2-only CPU bf16 is emulated and was measured ~10x slower than float32."""
    if device.startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def default_precision(device: str = "cpu") -> str:
    return "bf16" if native_bf16(device) else "fp32"


@dataclass
class Run:
    """A finished training run: the network (eval mode, CPU, float32), the loss per step and the seconds
    spent training, summed over every piece of an interrupted run."""

    model: nn.Module
    losses: list[float]
    seconds: float
    precision: str
    device: str


def _checkpoint_bytes(state: dict) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def fresh(recipe: Recipe, data: Split, device: str = "cpu") -> nn.Sequential:
    """Step 0 of a run: the seeded untrained network with its whitening set from the first 5,000 training
    images (as airbench), channels_last on device."""
    torch.manual_seed(recipe.seed)
    model = make_network(recipe.net, recipe.bn_momentum)
    init_whitening(model.whiten, data.images[:5000])
    return model.to(device, memory_format=torch.channels_last)


def train(
    recipe: Recipe,
    data: Split,
    checkpoint: Path | None = None,
    *,
    device: str = "cpu",
    precision: str | None = None,
    checkpoint_every: int = 100,
    progress: bool = True,
    stop_after: int | None = None,
    on_checkpoint: Callable[[int], None] | None = None,
    name: str = "",
) -> Run | None:
    """Train recipe on data (a training Split), resuming from `checkpoint` when it exists and saving it
    every `checkpoint_every` steps (atomically). precision: "bf16" (autocast) or "fp32"; default per
    machine (`default_precision`). stop_after: return None after that many steps (tests: an interruption).
    name: shown in the progress line.
    Returns the network in eval mode on the CPU in float32; the checkpoint is left for the caller."""
    allocator.keep_freed_memory()  # no page faults per step on the CPU (see allocator)
    precision = precision or default_precision(device)
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    total = recipe.total_steps(len(data))
    per_epoch = recipe.steps_per_epoch(len(data))
    model = fresh(recipe, data, device)
    opt = optimizer(model, recipe)
    step, losses, seconds = 0, [], 0.0
    if checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=True, map_location=device)
        if state.get("precision") != precision or state.get("recipe") != dataclasses.asdict(recipe):
            raise ValueError(
                f"{checkpoint} was written by another configuration or precision "
                f"({state.get('precision')}); delete it to start again"
            )
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, losses, seconds = state["step"], state["losses"], state["seconds"]
        log.info("resuming at step %d of %d from %s", step, total, checkpoint)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing, reduction="sum")
    flips = flip_mask(recipe, len(data))
    autocast = torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=precision == "bf16")
    model.train()
    bar = progress_bar(
        total, f"training {name}", unit="steps", initial=step, disable=not progress, mininterval=5
    )
    started = time.perf_counter()
    while step < total:
        model.whiten.bias.requires_grad_(step < recipe.whiten_bias_epochs * per_epoch)
        for group in opt.param_groups:
            group["lr"] = group["base_lr"] * lr_factor(step, total, recipe)
        x, y = training_batch(recipe, data, flips, step)
        with autocast:
            logits = model(x.to(device))
        loss = loss_fn(logits.float(), y.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        losses.append(loss.item() / len(y))
        bar.update(1)
        if checkpoint is not None and step % checkpoint_every == 0 and step < total:
            state = {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "step": step,
                "losses": losses,
                "seconds": seconds + time.perf_counter() - started,
                "precision": precision,
                "recipe": dataclasses.asdict(recipe),
                "threads": torch.get_num_threads(),  # resume with as many for the same bits
            }
            files.atomic_write_bytes(checkpoint, _checkpoint_bytes(state))
            if on_checkpoint is not None:
                on_checkpoint(step)
        if stop_after is not None and step >= stop_after and step < total:
            bar.close()
            return None
    bar.close()
    seconds += time.perf_counter() - started
    model.eval().to("cpu", memory_format=torch.contiguous_format)
    return Run(model, losses, seconds, precision, device)


# --- evaluation ----------------------------------------------------------------------------------------


@torch.no_grad()
def logits(
    model: nn.Module, images: torch.Tensor, tta: bool = False, batch: int = 500, device: str = "cpu"
) -> torch.Tensor:
    """Float32 logits (B, classes) of images (B, 3, N, N) in [0, 1] (or uint8), eval mode; tta averages
    the image and its mirror image (airbench's tta_level 1)."""
    model.eval()
    out = []
    for chunk in images.split(batch):
        x = chunk.float().div_(255) if chunk.dtype == torch.uint8 else chunk.float()
        x = x.to(device).contiguous(memory_format=torch.channels_last)
        y = model(x).float()
        if tta:
            y = 0.5 * y + 0.5 * model(x.flip(-1)).float()
        out.append(y.cpu())
    return torch.cat(out)
