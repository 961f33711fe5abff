"""The code base stays linted and formatted (ruff, one line length, configured in pyproject.toml)."""

import subprocess
import sys

from invariance.core import paths


def test_ruff_check_and_format():
    root = paths.project_root()
    ruff = [sys.executable, "-m", "ruff"]
    check = subprocess.run(
        [*ruff, "check", "lib", "tests", "notebooks", "tools"], cwd=root, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run(
        [*ruff, "format", "--check", "lib", "tests", "notebooks", "tools"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout
