"""Frame building alone (protocols.build_frames) per Table 1 protocol but inpainting, on the CPU: min and
median of 15 runs over 16 sample images. Run with PYTHONPATH pointing at the code to time (e.g. two
checkouts, alternating)."""

import time

from invariance.runner import protocols
from invariance.sources import datasets

im = datasets.load_sample(16, seed=0)
for name, p in protocols.table1_protocols().items():
    if name == "inpaint":
        continue
    ts = []
    for _ in range(15):
        t = time.perf_counter()
        protocols.build_frames(p, im, 224, (0.5, 0.5, 0.5))
        ts.append(time.perf_counter() - t)
    print(f"{name}: min {min(ts) * 1e3:.1f} ms median {sorted(ts)[7] * 1e3:.1f} ms")
