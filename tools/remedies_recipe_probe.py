"""Probe for issue 13c: how fast a canvas network in notebook 09's setting (CIFAR-10 objects in a 64 px
black canvas, photographer placements, seed 0) gains centre accuracy with bf16 autocast, other widths,
batch sizes or peak learning rates (label smoothing 0.1; the library's schedule). Prints centre accuracy
on 1,000 test images at half and all of the steps, with the training wall time. Run alone on an idle machine:

    python tools/remedies_recipe_probe.py WIDTHS STEPS bf16|fp32 BATCH LR
    (e.g. 16,32,64,128 3000 bf16 128 0.15)
"""

import json
import sys
import time

import torch
from invariance.claims import remedies
from invariance.core import config
from invariance.sources import cifar
from invariance.training import cnn as training
from torch.nn import functional as F

config.set_numerics(0)
train = cifar.load("train")
test = cifar.load("test").subset(1000, seed=0)
widths = tuple(int(w) for w in sys.argv[1].split(","))
steps = int(sys.argv[2])
bf16 = sys.argv[3] == "bf16"
batch = int(sys.argv[4])
lr = float(sys.argv[5])
base = remedies.variant_config("photographer", steps=steps, seed=0)
cfg = training.TrainConfig(
    placement=base.placement,
    arch=training.Architecture(widths=widths),
    steps=steps,
    seed=0,
    batch_size=batch,
    lr=lr,
)
model, opt, sched, gen = training._fresh(cfg, "cpu")
model.train()
t = time.perf_counter()
checkpoints = {steps // 2, steps}
for step in range(1, steps + 1):
    x, y = training.batch(train, cfg, gen)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(x.contiguous(memory_format=torch.channels_last))
    loss = F.cross_entropy(logits.float(), y, label_smoothing=0.1)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
    if step in checkpoints:
        wall = time.perf_counter() - t
        model.eval()
        c = int(cfg.placement.centre)
        probs = remedies.position_probs(model, test.images, torch.tensor([[c, c]]), cfg.placement.canvas)
        acc = float((probs[:, 0].argmax(1) == test.labels).float().mean())
        model.train()
        print(
            json.dumps(
                {
                    "widths": widths,
                    "steps": step,
                    "of": steps,
                    "batch": batch,
                    "lr": lr,
                    "bf16": bf16,
                    "train_wall_s": round(wall, 1),
                    "centre_accuracy_1000_test": acc,
                }
            ),
            flush=True,
        )
        t = time.perf_counter() - wall  # exclude evaluation time
