"""`python -m invariance measure ...`: the command line (see invariance.cli)."""

import sys

from .cli import main

sys.exit(main())
