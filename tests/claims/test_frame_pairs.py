"""Notebook 02's sentence on hand-made values."""

from invariance.claims import frame_pairs


def test_protocol_sentence_names_the_protocols_that_change_almost_every_pixel():
    rows = [{"protocol": "crop", "pixels_changed": 1.0}, {"protocol": "black", "pixels_changed": 0.27}]
    text = frame_pairs.f02_protocols(rows)
    assert "crop 100%, black 27%. Crop changes almost every pixel a little" in text
    rows[0]["pixels_changed"] = 0.3
    assert text != frame_pairs.f02_protocols(
        rows
    ) and "The large differences sit at" in frame_pairs.f02_protocols(rows)
