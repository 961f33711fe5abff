"""Which settings change a trained network bit for bit (issue 16): train notebook 09's photographer variant
for 60 steps and print a digest of its weights and its last loss. Run it under different settings, e.g.

    python tools/train_determinism.py            # torch's default threads (the cores)
    python tools/train_determinism.py 1          # one thread
    ATEN_CPU_CAPABILITY=avx2 python tools/train_determinism.py
    ONEDNN_MAX_CPU_ISA=AVX2 python tools/train_determinism.py
"""

import hashlib
import os
import sys

import torch
from invariance.claims import remedies
from invariance.core import config
from invariance.sources import cifar
from invariance.training import cnn as training

config.set_numerics(0)
if len(sys.argv) > 1:
    torch.set_num_threads(int(sys.argv[1]))
cfg = remedies.variant_config("photographer", steps=60, seed=0)
run = training.train(cfg, cifar.load("train"), folder=None, progress=False)
digest = hashlib.sha256()
for _, tensor in sorted(run.model.state_dict().items()):
    digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
print(
    f"ATEN_CPU_CAPABILITY={os.environ.get('ATEN_CPU_CAPABILITY', '(default)')} "
    f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', '(default)')} "
    f"threads={torch.get_num_threads()} cpu_capability={torch.backends.cpu.get_cpu_capability()} "
    f"weights_sha256={digest.hexdigest()[:16]} last_loss={run.log.loss.iloc[-1]:.9f}"
)
