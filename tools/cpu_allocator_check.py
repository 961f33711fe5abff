"""The CPU runner and forward pass with and without allocator.keep_freed_memory, side by side.

Each round runs one child process with INVARIANCE_KEEP_FREED_MEMORY=0 (glibc's defaults) and one without it
(freed memory kept), alternating, so machine noise hits both alike. Each child times, on the same frames of
the black protocol (Lite0, batch 8): the bare forward pass on pre-normalised frames (bench.time_forward),
forward_probs (normalisation + forward + softmax) and the runner (evaluate_images, frames built as it goes),
with the minor page faults each took. Run alone on an idle machine:

    python tools/cpu_allocator_check.py [images, default 64] [rounds, default 3]
"""

import os
import resource
import subprocess
import sys
import time


def child(n_images: int) -> None:
    from invariance.apps import bench
    from invariance.core import allocator, config
    from invariance.runner import evaluate, protocols
    from invariance.sources import datasets, models

    config.set_numerics(0)  # applies keep_freed_memory unless the environment says 0
    m = models.load("lite0")
    images = datasets.load_sample(n_images)
    protocol = protocols.table1_protocols()["black"]
    frames = protocols.build_frames(protocol, images, m.data_config.input_size, m.data_config.mean)
    frames = frames.flatten(0, 1)
    numerics = evaluate.Numerics()

    def forward_probs() -> float:
        start = time.perf_counter()
        evaluate.forward_probs(m, frames, 8, numerics)
        return time.perf_counter() - start

    timers = {
        "forward": lambda: bench.time_forward(m, frames, 8, numerics),
        "forward_probs": forward_probs,
        "runner": lambda: bench.time_runner(m, protocol, images, 8, numerics)[0],
    }
    state = "kept" if allocator.keep_freed_memory() else "glibc default"
    for name, timer in timers.items():
        timer()  # warm-up: the first call pays for the pages once
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        seconds = timer()
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
        print(
            f"{state:13s} {name:13s} {len(frames)} frames {seconds:6.2f} s {faults:8d} minor faults",
            flush=True,
        )


def main() -> None:
    n_images = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    for r in range(rounds):
        for keep in ("0", "1"):
            env = {**os.environ, "INVARIANCE_KEEP_FREED_MEMORY": keep, "HF_HUB_OFFLINE": "1"}
            print(f"# round {r + 1}, INVARIANCE_KEEP_FREED_MEMORY={keep}", flush=True)
            subprocess.run([sys.executable, __file__, "--child", str(n_images)], env=env, check=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(int(sys.argv[2]))
    else:
        main()
