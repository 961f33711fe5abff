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

# Our protocol names -> the paper's (Section 3 / Table 1). The official code's "Black" pasted into a zero
# tensor after normalisation, i.e. the ImageNet mean grey: our "mean"; our "black" is true black.
PROTOCOL_NAMES = {
    "crop": "Crop (crop-and-rescale)",
    "black": "Black, as the paper describes it\n(true black canvas)",
    "mean": "Black, as the official code ran it\n(mean grey: the network's mean colour, 0 once normalised)",
    "inpaint": "Inpainting\n(translation, inpainted canvas)",
    "scale": "Scale\n(embedding on black, +1 px)",
}

# Short x tick labels for the same protocols, ours (the paper's name); figure 04 draws the paper's Black at
# our "mean".
PROTOCOL_TICKS = {
    "crop": "crop\n(Crop)",
    "black": "black\n(true black)",
    "mean": "mean grey\n(Black)",
    "inpaint": "inpaint\n(Inpainting)",
    "scale": "scale\n(Scale)",
}
MODEL_NAMES = {"vgg16": "VGG16", "resnet50": "ResNet50", "densenet121": "DenseNet121"}

HEADLINE = {
    "p_top1_change_modern_cnn": (0.30, "abstract: about 30% of one-pixel shifts change the output"),
    "p_top1_change_antialiased": (0.15, "Section 5: an antialiased network still changed 15%"),
}


def compare_figure1(stats: list[dict]) -> pd.DataFrame:
    """Figure 1 is qualitative in the paper (InceptionResNetV2): ours as a table of path statistics."""
    t = pd.DataFrame(stats).set_index("image")
    print("Paper: qualitative only (jagged curves for a kuvasz, a lotion and a video; InceptionResNetV2).")
    return t


def compare_ranking(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Order networks by a column (least first) and say whether the order follows depth as listed."""
    ranked = table.sort_values(column)
    listed = list(table.index)
    follows = list(ranked.index) == listed
    print(f"Least to most {column}: {' < '.join(ranked.index)}")
    print(
        f"Paper: deeper/more modern networks are more jagged. Networks listed in depth order: {listed}; "
        f"our order {'matches' if follows else 'does NOT match'} it (see the CIs)."
    )
    return ranked


def compare_table1(summary: pd.DataFrame) -> pd.DataFrame:
    """Our P(top-1 change) and MAC for crop and black next to Table 1 (paper models; ours may differ)."""
    ours = summary[
        summary.metric.isin(["p_top1_change", "mac"]) & summary.condition.isin(["crop", "black", "mean"])
    ]
    ours = ours.pivot_table(index=["metric", "condition"], columns="model", values="value", sort=False)
    theirs = TABLE1.assign(
        cell=[
            f"{p:g}" + (f" ({k:g})" if pd.notna(k) else "")
            for p, k in zip(TABLE1.pytorch, TABLE1.keras, strict=True)
        ]
    )
    theirs = theirs.pivot_table(
        index=["metric", "protocol"], columns="model", values="cell", aggfunc="first", sort=False
    )
    theirs.index = theirs.index.set_names(["metric", "condition"])
    theirs.columns = [f"paper {c}" for c in theirs.columns]
    print(
        f"Paper: {TABLE1_SOURCE} (PyTorch, Keras in parentheses). Its 'black' background was the mean grey "
        "of our 'mean' condition (zero after normalisation)."
    )
    return ours.round(3).join(theirs, how="outer")


def compare_sweep(summary: pd.DataFrame) -> pd.DataFrame:
    """Where P(top-1 change) is lowest along the scale axis, per network and variant."""
    sub = summary[summary.metric == "p_top1_change"]
    rows = []
    for (model, variant), s in sub.groupby(["model", "variant"], sort=False):
        s = s.sort_values("scale")
        rows.append(
            {
                "model": model,
                "variant": variant,
                "most stable scale": s.scale.iloc[s.value.argmin()],
                "p at smallest scale": s.value.iloc[0],
                "lowest p": s.value.min(),
                "p at largest scale": s.value.iloc[-1],
            }
        )
    print("Official code (no published numbers): U-shaped curves, most stable at typical scales.")
    return pd.DataFrame(rows).set_index(["model", "variant"]).round(3)


def compare_stages(stages: pd.DataFrame) -> pd.DataFrame:
    """Early vs deep stages: the paper says early layers are nearly invariant and deep ones are not."""
    rows = []
    for model, t in stages.groupby("model", sort=False):
        t = t.sort_values("stride")
        rows.append(
            {
                "model": model,
                "first stage": t.change.iloc[0],
                "last stage": t.change.iloc[-1],
                "grows with depth": bool((t.change.diff().dropna() >= 0).all()),
            }
        )
    print(
        "Paper: pooled features of early layers are nearly invariant to one-pixel shifts, of deep layers not."
    )
    return pd.DataFrame(rows).set_index("model").round(4)


def compare_typicality(summary: pd.DataFrame) -> pd.DataFrame:
    """P(top-1 change) in the least and the most typical bin, and the rank correlation, per network."""
    rows = []
    for model, t in summary.groupby("model", sort=False):
        t = t.sort_values("bin")
        rows.append(
            {
                "model": model,
                "least typical bin": t.p_top1_change.iloc[0],
                "most typical bin": t.p_top1_change.iloc[-1],
                "spearman (typicality, change)": t.spearman.iloc[0],
            }
        )
    print("Paper (Section 5): invariance is learned for typical images only: P(top-1 change) falls with it.")
    return pd.DataFrame(rows).set_index("model").round(3)


def compare_remedies(table: pd.DataFrame, imagenet: pd.DataFrame) -> pd.DataFrame:
    """P(top-1 change) per remedy at centre and edge positions, and its change from the photographer
    baseline; prints the paper's claim and, where measured (paper profile), ImageNet resnetblur50."""
    p = table[table.metric == "p_top1_change"].pivot(index="variant", columns="zone", values="value")
    p = p.reindex(list(dict.fromkeys(table.variant)))
    base = p.loc["photographer"] if "photographer" in p.index else None
    out = p[["centre", "edge"]].rename(columns=lambda z: f"P(change) {z}")
    if base is not None:
        for zone in ("centre", "edge"):
            out[f"vs photographer, {zone}"] = p[zone] - base[zone]
    value, source = HEADLINE["p_top1_change_antialiased"]
    print(f"Paper: remedies are partial; {source} (paper value {value}).")
    blur = imagenet[(imagenet.model == "resnetblur50") & (imagenet.metric == "p_top1_change")]
    if len(blur):
        print("Ours, ImageNet, resnetblur50:", dict(zip(blur.condition, blur.value.round(3), strict=True)))
    return out.round(3)
