"""`make data`: `python -m invariance.fetch [fetch|where]` locates the data sets or downloads missing ones."""

from __future__ import annotations

import sys

from .datasets import main

if __name__ == "__main__":
    main(sys.argv[1:] or ["fetch"])
