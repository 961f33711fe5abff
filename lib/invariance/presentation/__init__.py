"""How results are shown: the one figure style and save_figure() with its provenance sidecar
(figures), and the number and sentence helpers that every claim's findings text uses (text)."""
