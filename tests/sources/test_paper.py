"""The paper's reference numbers and the comparison tables the notebooks print."""

import pandas as pd
from invariance.sources import paper


def test_table1_holds_the_papers_values():
    t = paper.TABLE1.set_index(["model", "protocol", "metric"])
    assert t.loc[("resnet50", "black", "p_top1_change"), "pytorch"] == 0.20
    assert t.loc[("resnet50", "black", "mac"), "keras"] == 0.093
    assert pd.isna(t.loc[("densenet121", "crop", "mac"), "keras"])


def test_protocol_names_cover_table1_protocols():
    from invariance.runner import protocols

    assert set(paper.PROTOCOL_NAMES) == set(protocols.table1_protocols())
    assert "mean grey" in paper.PROTOCOL_NAMES["mean"] and "true black" in paper.PROTOCOL_NAMES["black"]
