"""Why the scale protocol's runner stays below 0.95 of the forward pass on this CPU (issue 17): its frames are
nine antialiased bicubic resizes of the whole photo per image, and that work neither shrinks nor hides.

Prints, for 32 sample images (Lite0, batch 8, 2 threads), min of 4 rounds:
- the network alone on pre-built frames, building then forwarding group by group (the runner's order), and
  building the next group in a background thread while the current one runs (1 thread for the builder);
- one resize of a 375 x 500 photo to 100 x 133 split into its two passes, on 2 threads and on 1.

Run from the repository root:  HF_HUB_OFFLINE=1 .venv/bin/python tools/scale_build_check.py
"""

import time
from concurrent.futures import ThreadPoolExecutor

import torch
import torch.nn.functional as F
from invariance.core import config
from invariance.runner import evaluate, protocols
from invariance.runner.protocols import Scale
from invariance.sources import datasets, models


def best(fn, rounds: int = 4) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    config.set_numerics(0)
    model = models.load("lite0", pretrained=True, device=torch.device("cpu"))
    images = datasets.load_sample(32, seed=0)
    protocol, n = Scale(background="black"), model.data_config.input_size
    groups = [images[i : i + 8] for i in range(0, len(images), 8)]

    def build(group):
        return protocols.build_frames(protocol, group, n, model.data_config.mean, "cpu").flatten(0, 1)

    built = [build(g) for g in groups]
    pool = ThreadPoolExecutor(1, initializer=lambda: torch.set_num_threads(1))

    def forward_alone():
        for frames in built:
            evaluate.forward_probs(model, frames, 8)

    def build_then_forward():
        for g in groups:
            evaluate.forward_probs(model, build(g), 8)

    def overlapped():
        pending = pool.submit(build, groups[0])
        for i in range(len(groups)):
            frames = pending.result()
            if i + 1 < len(groups):
                pending = pool.submit(build, groups[i + 1])
            evaluate.forward_probs(model, frames, 8)

    def build_alone():
        for g in groups:
            build(g)

    t = {name: best(fn) for name, fn in [("forward", forward_alone), ("sequential", build_then_forward),
                                         ("overlapped", overlapped), ("build", build_alone)]}  # fmt: skip
    frames = sum(f.shape[0] for f in built)
    print(f"scale-black, {len(images)} images, {frames} frames, batch 8, {torch.get_num_threads()} threads")
    print(
        f"forward alone {t['forward']:.3f} s | build alone {t['build']:.3f} s "
        f"({t['build'] / t['forward']:.1%} of it)"
    )
    print(
        f"build then forward {t['sequential']:.3f} s: forward / that = {t['forward'] / t['sequential']:.3f}"
    )
    print(
        f"next group built in a thread {t['overlapped']:.3f} s: "
        f"forward / that = {t['forward'] / t['overlapped']:.3f}"
    )

    photo = torch.rand(1, 3, 375, 500)
    for threads in (2, 1):
        torch.set_num_threads(threads)
        ms = {
            name: 1e3
            * best(lambda size=size: F.interpolate(photo, size=size, mode="bicubic", antialias=True), 20)
            for name, size in [
                ("both passes", (100, 133)),
                ("horizontal", (375, 133)),
                ("vertical", (100, 500)),
            ]
        }
        print(
            f"resize 375x500 -> 100x133, {threads} thread(s): "
            + ", ".join(f"{k} {v:.3f} ms" for k, v in ms.items())
        )


if __name__ == "__main__":
    main()
