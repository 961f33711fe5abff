"""Published reference numbers, each with its source. Notebooks print ours next to these."""

from __future__ import annotations

import pandas as pd

# JMLR 2019, Table 1: PyTorch (torchvision) models; Keras values in parentheses in the paper.
TABLE1 = pd.DataFrame(
    [
        ("vgg16", "crop", "p_top1_change", 0.062, 0.05),
        ("resnet50", "crop", "p_top1_change", 0.061, 0.14),
        ("densenet121", "crop", "p_top1_change", 0.068, None),
        ("vgg16", "black", "p_top1_change", 0.18, 0.11),
        ("resnet50", "black", "p_top1_change", 0.20, 0.29),
        ("densenet121", "black", "p_top1_change", 0.19, None),
        ("vgg16", "crop", "mac", 0.038, 0.027),
        ("resnet50", "crop", "mac", 0.04, 0.058),
        ("densenet121", "crop", "mac", 0.045, None),
        ("vgg16", "black", "mac", 0.06, 0.03),
        ("resnet50", "black", "mac", 0.086, 0.093),
        ("densenet121", "black", "mac", 0.079, None),
    ],
    columns=["model", "protocol", "metric", "pytorch", "keras"],
)
TABLE1_SOURCE = "Azulay & Weiss, JMLR 20(184), 2019, Table 1"

# Clean ImageNet-val top-1 (%) of the weights, from the frameworks' documentation.
CLEAN_TOP1 = {
    "vgg16": 71.59, "resnet50": 76.13, "densenet121": 74.43, "inception_resnet_v2": 80.43,
    "lite0": 75.1, "lite1": 76.7, "lite2": 77.6,
}  # fmt: skip

HEADLINE = {
    "p_top1_change_modern_cnn": (0.30, "abstract: about 30% of one-pixel shifts change the output"),
    "p_top1_change_antialiased": (0.15, "Section 5: an antialiased network still changed 15%"),
}


def table1(model: str, protocol: str, metric: str, framework: str = "pytorch") -> float | None:
    """One Table 1 value, or None where the paper has none."""
    hit = TABLE1[(TABLE1.model == model) & (TABLE1.protocol == protocol) & (TABLE1.metric == metric)]
    if hit.empty:
        return None
    value = hit.iloc[0][framework]
    return None if pd.isna(value) else float(value)
