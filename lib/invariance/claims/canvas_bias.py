"""The paper's claim 3 on the shipped canvas networks (notebook 09): a photographer's bias in training makes
positions atypical of it less invariant. The measurement, tables and figures are canvas_remedies' (one
experiment, two claims); this module is the claim and its verdict.

The test is a difference of differences: photographer (atypical interior - typical) minus uniform (atypical
interior - typical) of P(top-1 change). Each network's own gap between the zones takes out what differs
between networks everywhere (fit, capacity); the uniform network, for which every position is typical,
takes out what differs between the positions themselves (distance from the centre, the total stride's
phase), leaving what the photographer's training distribution adds.
"""

from __future__ import annotations

from invariance.claims.canvas_remedies import (
    ALL,
    ATYPICAL,
    BORDER,
    CONTRASTS_FIGURE,
    MATCHED,
    TYPICAL,
    UNIFORM,
    ZONES_FIGURE,
    accuracy_differs,
    robust_word,
)
from invariance.presentation.text import interval_verdict, tidy_frame, value_range, verdict_text

CLAIM = (
    "Invariance holds only for images typical of the training set: a network trained with a photographer's "
    "bias (objects near the centre) is less invariant at positions that bias makes atypical than one "
    "trained with objects everywhere."
)


def _diff(r) -> str:
    if r["difference"] != r["difference"]:  # NaN: no images
        return "n/a (no images)"
    return f"{r['difference']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]"


def verdict(read) -> str:
    """Our verdict on CLAIM, a rule fixed before any canvas network was measured: the difference of
    differences photographer (atypical interior - typical) minus uniform (atypical interior - typical) of
    P(top-1 change), 95% CI over seeds and test images (canvas_remedies.bias_contrasts): reproduced when the
    CI lies above 0, not reproduced when below 0, inconclusive when it covers 0. Where the photographer's and
    the uniform network's first-frame accuracy differ in either zone (an accuracy difference CI excludes 0),
    the same test on the images every network classifies correctly in both zones must give the same word,
    else inconclusive (robust_word). The border zone's difference of differences is stated, not read: there
    the canvas edge and the zero padding act as well as typicality."""
    v = read(CONTRASTS_FIGURE)
    bias = tidy_frame(v["bias"]).set_index(["zone", "images"])
    acc = tidy_frame(v["accuracy"])
    a, m = bias.loc[(ATYPICAL, ALL)], bias.loc[(ATYPICAL, MATCHED)]
    word_all, word_matched = interval_verdict(a.low, a.high), interval_verdict(m.low, m.high)
    differs = accuracy_differs(acc, UNIFORM, [TYPICAL, ATYPICAL])
    word = robust_word(word_all, word_matched, differs)
    gaps = (
        f"photographer {a.photographer_gap:+.3f} [{a.photographer_gap_low:+.3f}, "
        f"{a.photographer_gap_high:+.3f}], uniform {a.uniform_gap:+.3f} [{a.uniform_gap_low:+.3f}, "
        f"{a.uniform_gap_high:+.3f}]"
    )
    matched = f"on the {int(m.n_images):,} images every network classifies correctly in both zones {_diff(m)}"
    if differs:
        matched += f" ({word_matched}; the variants' accuracy differs, so this must agree" + (
            ")" if word == word_all else ": it does not, so the result depends on accuracy)"
        )
    border = bias.loc[(BORDER, ALL)]
    return verdict_text(
        word,
        f"photographer minus uniform of (atypical interior - typical) P(top-1 change): {_diff(a)} on "
        f"{int(a.n_images):,} test images (95% CI over seeds and images; the gaps: {gaps}); {matched}; with "
        f"the border zone instead (not read: the canvas edge acts there too) {_diff(border)}",
    )


# claims at a glance (README): the claim in a line, the paper's evidence, the figure, the key number
SHORT = "A photographer's bias in training makes atypical positions less invariant."
PAPER_EVIDENCE = "Section 5: invariance only for typical images; tested here with placement known"
FIGURE = CONTRASTS_FIGURE


def headline(read) -> str:
    """The difference of differences in the atypical interior and at the border (95% CIs)."""
    bias = tidy_frame(read(CONTRASTS_FIGURE)["bias"]).set_index(["zone", "images"])
    zones = tidy_frame(read(ZONES_FIGURE)["zones"])
    return (
        f"photographer minus uniform, (atypical - typical) P(top-1 change): interior "
        f"{_diff(bias.loc[(ATYPICAL, ALL)])}, border {_diff(bias.loc[(BORDER, ALL)])} (networks at "
        f"{value_range(zones.accuracy)} accuracy)"
    )
