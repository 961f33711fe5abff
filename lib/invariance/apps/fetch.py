"""`make data`: `python -m invariance.apps.fetch [fetch|where]` locates or downloads the data sets."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from functools import partial

from invariance.core import paths
from invariance.sources import cifar, datasets, video

# (name, locate, fetch): locate raises paths.DataNotFoundError when the data set is missing.
DATA_SETS = (
    (datasets.SAMPLE_NAME, partial(paths.find_data, datasets.SAMPLE_NAME), datasets.fetch_sample),
    (datasets.BOXES_NAME, partial(paths.find_data, datasets.BOXES_NAME), datasets.fetch_boxes),
    (datasets.VAL227_NAME, partial(paths.find_data, datasets.VAL227_NAME), datasets.fetch_val227),
    ("cifar10", cifar.locate, cifar.fetch),
    (video.VIDEO_NAME, partial(paths.find_data, video.VIDEO_NAME), video.fetch_clips),
)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Locate or download the compendium's data.")
    parser.add_argument("command", choices=["fetch", "where"])
    args = parser.parse_args(argv)
    for name, locate, fetch in DATA_SETS:
        try:
            print(f"{name}: found at {locate()}")
        except paths.DataNotFoundError:
            if args.command == "where":
                print(f"{name}: missing (run `make data`)")
            else:
                print(f"{name}: downloading into {paths.data_dir()} ...")
                print(f"{name}: written to {fetch()}")
    print(json.dumps({"search_path": [str(p) for p in paths.data_search_path()]}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:] or ["fetch"])
