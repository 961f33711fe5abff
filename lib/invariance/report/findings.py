"""The findings registry: which claim module writes each figure's sentence and each notebook's verdict.

The sentences and verdicts live with their claims (`invariance.claims.<claim>`: `fNN_*` per figure,
`CLAIM` and `verdict` per notebook); this table names them, so the claims never import the report.
`notebook_findings` assembles a notebook's closing cell ("What we found") from the sidecars its run wrote,
in any profile; `invariance.report.readme` writes the README's gallery from the same table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from invariance.claims import (
    aliasing,
    bias,
    canvas_bias,
    canvas_curves,
    canvas_remedies,
    certified,
    crop_rescale,
    depth,
    depth_series,
    frame_pairs,
    framing,
    inference_remedies,
    jagged,
    protocol_table,
    remedies,
    shift_controls,
    typicality,
)
from invariance.core import paths
from invariance.presentation.text import Values, sidecar_values

# figure name -> the function that writes its sentence from its sidecar's values (README gallery order)
FIGURES: dict[str, Callable[[Values], str]] = {
    "01_jagged_examples": jagged.f01_jagged,
    "01_jumps_in_context": jagged.f01_context,
    "02_protocols": frame_pairs.f02_protocols,
    "03_jaggedness_maps": depth.f03_maps,
    "03_depth_controls": depth.f03_depth,
    "03_depth_by_first_frame": depth.f03_first_frame,
    "03_depth_series": depth_series.f03_series,
    "04_protocol_table": protocol_table.f04_table,
    "04_change_by_first_frame": protocol_table.f04_first_frame,
    "05_crop_rescale_sweep": crop_rescale.f05_sweep,
    "06_photographers_bias": bias.f06_bias,
    "06_bias_beyond_size": bias.f06_beyond_size,
    "06_placement_invariance": bias.f06_placement,
    "06_placement_by_first_frame": bias.f06_first_frame,
    "07_sampling_toy": aliasing.f07_toy,
    "07_total_stride_periodicity": aliasing.f07_periodicity,
    "07_stagewise_invariance": aliasing.f07_stages,
    "08_real_framing": framing.f08_framing,
    "08_typicality": typicality.f08_typicality,
    "09_remedies_setup": remedies.f09_setup,
    "09_remedies": remedies.f09_remedies,
    "09_typicality_controlled": remedies.f09_controlled,
    "09_typicality_size": remedies.f09_size,
    "10_certified_shifts": certified.f10_certified,
    "11_shift_controls": shift_controls.f11_controls,
    "11_inference_remedies": inference_remedies.f11_remedies,
}


@dataclass(frozen=True)
class Claim:
    text: str
    verdict: Callable[[Callable[[str], Values]], str]  # given a sidecar reader, the verdict with its reason
    heading: str = "The paper's claim"  # a claim beyond the paper says so
    # claims at a glance (README): the claim in one line, the paper's evidence, the figure and the key number
    short: str = ""
    paper: str = ""
    figure: str = ""
    headline: Callable[[Callable[[str], Values]], str] | None = None


def _claim(module: ModuleType, heading: str = "The paper's claim") -> Claim:
    return Claim(
        module.CLAIM,
        module.verdict,
        heading,
        module.SHORT,
        module.PAPER_EVIDENCE,
        module.FIGURE,
        module.headline,
    )


# notebook -> the paper's claim it tests and the function that judges it; a notebook testing a second claim
# has a second key "<notebook>.2"
CLAIMS: dict[str, Claim] = {
    "01": _claim(jagged),
    "03": _claim(depth),
    "04": _claim(protocol_table),
    "06": _claim(bias),
    "07": _claim(aliasing),
    "08": _claim(framing),
    "09": _claim(remedies),
    "10": _claim(certified, "The claim tested (beyond the paper)"),
    "11": _claim(shift_controls, "The claim tested (beyond the paper)"),
    "11.2": _claim(inference_remedies, "The claim tested (beyond the paper, after Shifman & Weiss 2024)"),
}


# Drafts of redesigned notebooks (notebooks/drafts/), kept out of FIGURES and CLAIMS (and so out of the README
# and the numbered notebooks' findings) until they replace their notebook: notebook stem -> (its figures'
# sentences, its claims). 09 on the shipped canvas networks: claim 4 (remedies) and claim 3 (the
# photographer's bias); on the switch its entries move into FIGURES and CLAIMS ("09", "09.2").
DRAFTS: dict[str, tuple[dict[str, Callable[[Values], str]], dict[str, Claim]]] = {
    "09_remedies_shipped": (
        {
            canvas_curves.SETUP_FIGURE: canvas_curves.f09_setup,
            canvas_curves.POSITIONS_FIGURE: canvas_curves.f09_positions,
            canvas_remedies.ZONES_FIGURE: canvas_remedies.f09_zones,
            canvas_remedies.CONTRASTS_FIGURE: canvas_remedies.f09_contrasts,
            canvas_curves.SIZE_FIGURE: canvas_curves.f09_size,
        },
        {"09": _claim(canvas_remedies), "09.2": _claim(canvas_bias)},
    ),
}


def claims_of(prefix: str, claims: dict[str, Claim] | None = None) -> list[Claim]:
    """The claims notebook `prefix` ("11") tests, in order: CLAIMS[prefix], CLAIMS[prefix + ".2"], ...
    (claims: another registry, e.g. a draft's)."""
    return [c for key, c in (CLAIMS if claims is None else claims).items() if key.split(".")[0] == prefix]


# what a figure's sentence raises when a small profile's run lacks a condition it describes
_MISSING = (KeyError, IndexError, ValueError, TypeError, AttributeError, FileNotFoundError)


def notebook_findings(notebook: str, profile: str) -> str:
    """Markdown for a notebook's closing cell: what each of its figures shows (from the sidecars this run
    wrote) and, where the paper makes a testable claim, the claim and our verdict. A draft (DRAFTS) reads
    its own figures and claims."""
    folder = paths.figures_dir(profile)
    prefix = notebook[:2]
    figures, claims = DRAFTS.get(notebook, (FIGURES, CLAIMS))

    def read(name: str) -> Values:
        return sidecar_values(name, folder)

    lines = [f"*{profile} profile; from the figure sidecars this run wrote.*", ""]
    for name, sentence in figures.items():
        if name.startswith(prefix) and (folder / f"{name}.json").exists():
            try:
                lines.append(f"- **{name}**: {sentence(read(name))}")
            except _MISSING as e:  # a small profile lacks a condition
                lines.append(f"- **{name}**: (no summary in this profile: its run lacks {e})")
    for claim in claims_of(prefix, claims):
        try:
            verdict = claim.verdict(read)
        except _MISSING as e:
            verdict = f"(no verdict in this profile: its run lacks {e})"
        lines += ["", f"**{claim.heading}**: {claim.text}", "", f"**Verdict**: {verdict}."]
    if profile == "smoke":
        lines += [
            "",
            "*Smoke profile: a few images and barely trained networks; the numbers test the code only.*",
        ]
    return "\n".join(lines)


def show(notebook: str, profile: str):
    """notebook_findings() as displayed Markdown (the last line of a notebook)."""
    from IPython.display import Markdown

    return Markdown(notebook_findings(notebook, profile))


def verdict_word(verdict: str) -> str:
    """The bold verdict word a verdict text starts with ("**reproduced**: ..." -> "reproduced")."""
    return verdict.split("**")[1] if verdict.startswith("**") else verdict


def glance(folder=None) -> str:
    """Markdown: claims at a glance, one row per claim the notebooks test (CLAIMS order): the claim, the
    paper's evidence, our verdict word, the key number (95% CI) from the sidecars, the figure and notebook."""
    from invariance.presentation.text import sidecar_values

    def read(name: str) -> Values:
        return sidecar_values(name, folder)

    rows = [
        "| # | claim | the paper's evidence | our verdict | key number (95% CI) | figure |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key, c in CLAIMS.items():
        prefix = key.split(".")[0]
        nb = next(p.stem for p in (paths.project_root() / "notebooks").glob(f"{prefix}_*.ipynb"))
        thumb = f'<a href="figures/{c.figure}.png"><img src="figures/{c.figure}.png" width="120"></a>'
        rows.append(
            f"| [{prefix}](notebooks/executed/{nb}.ipynb) | {c.short} | {c.paper} | "
            f"**{verdict_word(c.verdict(read))}** | {c.headline(read)} | {thumb} |"
        )
    return "\n".join(rows)
