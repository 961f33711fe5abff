"""GPU check of inpaint.fill: the CUDA result against the CPU result and the official code, ms/frame on the
GPU. Run from the repository root on a machine with a GPU: PYTHONPATH=lib python tools/gpu_inpaint_check.py"""

import time

import numpy as np
import torch
from invariance.kernels import inpaint
from invariance.runner.protocols import Translation
from invariance.sources import datasets

imgs = datasets.load_sample(8, seed=0)
f, k = Translation(background="inpaint").make_group(imgs, 224, "cpu")
picks = (0, 40)
refs = [
    inpaint.official_fill(f[i].double().permute(1, 2, 0).numpy(), k[i, 0].double().numpy()) for i in picks
]
cpu = inpaint.fill(f, k)
fc, kc = f.cuda(), k.cuda()
for dt in (torch.float64, torch.float32):
    out = inpaint.fill(fc, kc, dtype=dt).cpu()
    ts = []
    for _ in range(5):
        torch.cuda.synchronize()
        t = time.perf_counter()
        inpaint.fill(fc, kc, dtype=dt)
        torch.cuda.synchronize()
        ts.append(time.perf_counter() - t)
    d = max(
        np.abs(out[i].permute(1, 2, 0).double().numpy() - r).max() for i, r in zip(picks, refs, strict=True)
    )
    print(
        dt,
        f"{min(ts) / len(f) * 1e3:.3f} ms/frame",
        f"vs cpu {(out - cpu).abs().max().item():.3g}",
        f"vs official {d:.3g}",
    )
