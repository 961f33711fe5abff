"""How much accuracy a small CIFAR-10 network reaches per second of this CPU on standard 32x32 images
(issue 14's budget: 5 variants x 3 seeds, baseline >= 0.80 test accuracy, notebook <= 20 min cold).

Part 1 prints training throughput (images/s) for a few widths, float32 and bfloat16 autocast, channels_last.
Part 2 trains the chosen recipe for a few epochs (pad-4 random crop + flip, SGD Nesterov, warm-up + cosine,
label smoothing) and prints test accuracy against wall time. Run alone on an idle machine:

    python tools/cifar32_training_budget.py [epochs] [widths, e.g. 32,64,128,256] [bf16|fp32] \
        [--no-throughput]
"""

import math
import sys
import time

import torch
from invariance.core import config
from invariance.sources import cifar
from invariance.training import cnn as training
from torch.nn import functional as F

BATCH = 256
THROUGHPUT_WIDTHS = [(16, 32, 64, 128), (32, 64, 128, 256), (64, 128, 256, 512)]


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Pad 4 (zeros), random 32x32 crop, random horizontal flip: (B, 3, 32, 32) uint8 -> float [0, 1]."""
    b = len(x)
    padded = F.pad(x, (4, 4, 4, 4))
    dy = torch.randint(0, 9, (b,), generator=gen)
    dx = torch.randint(0, 9, (b,), generator=gen)
    rows = (dy[:, None] + torch.arange(32))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(32))[:, None, None, :]
    out = padded[torch.arange(b)[:, None, None, None], torch.arange(3)[None, :, None, None], rows, cols]
    flip = torch.rand(b, generator=gen) < 0.5
    out = torch.where(flip[:, None, None, None], out.flip(-1), out)
    return out.float().div_(255)


def make(widths, downsampling="stride"):
    net = training.make_network(training.Architecture(widths=widths, downsampling=downsampling))
    return net.to(memory_format=torch.channels_last)


def step_fn(net, opt, x, y, dtype):
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16"):
        logits = net(x.contiguous(memory_format=torch.channels_last))
        loss = F.cross_entropy(logits.float(), y, label_smoothing=0.1)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss


def throughput(train, widths, dtype, steps=12):
    net = make(widths)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    gen = torch.Generator().manual_seed(0)
    x, y = augment(train.images[:BATCH], gen), train.labels[:BATCH]
    for _ in range(3):
        step_fn(net, opt, x, y, dtype)
    t = time.perf_counter()
    for _ in range(steps):
        step_fn(net, opt, x, y, dtype)
    return steps * BATCH / (time.perf_counter() - t)


def accuracy(test, net, dtype):
    net.eval()
    correct = 0
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16"):
        for i in range(0, len(test), 1000):
            x = test.images[i : i + 1000].float().div(255).contiguous(memory_format=torch.channels_last)
            correct += int((net(x).argmax(1) == test.labels[i : i + 1000]).sum())
    net.train()
    return correct / len(test)


def main() -> None:
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    widths = tuple(int(w) for w in sys.argv[2].split(",")) if len(sys.argv) > 2 else (32, 64, 128, 256)
    dtype = sys.argv[3] if len(sys.argv) > 3 else "fp32"
    skip_throughput = len(sys.argv) > 4 and sys.argv[4] == "--no-throughput"
    config.set_numerics(0)
    train, test = cifar.load("train"), cifar.load("test")
    print(f"threads {torch.get_num_threads()}, batch {BATCH}")
    for w in [] if skip_throughput else THROUGHPUT_WIDTHS:
        for d in ("fp32", "bf16"):
            print(f"throughput widths={w} {d}: {throughput(train, w, d):.0f} images/s", flush=True)
    torch.manual_seed(0)
    net = make(widths)
    steps = epochs * len(train) // BATCH
    opt = torch.optim.SGD(net.parameters(), lr=0.2, momentum=0.9, nesterov=True, weight_decay=5e-4)
    warm = steps // 5

    def factor(s: int) -> float:
        return (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / (steps - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    gen = torch.Generator().manual_seed(0)
    per_epoch = len(train) // BATCH
    training_s = 0.0  # wall time of the training steps only (the test passes are left out)
    for step in range(steps):
        started = time.perf_counter()
        idx = torch.randint(0, len(train), (BATCH,), generator=gen)
        loss = step_fn(net, opt, augment(train.images[idx], gen), train.labels[idx], dtype)
        sched.step()
        training_s += time.perf_counter() - started
        if (step + 1) % per_epoch == 0 or step + 1 == steps:
            print(
                f"widths={widths} {dtype} epoch {(step + 1) / per_epoch:.1f}: loss {loss.item():.3f} "
                f"test accuracy {accuracy(test, net, dtype):.3f} training {training_s:.0f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
