"""`python -m invariance measure ...`: the command line (see invariance.apps.cli)."""

import sys

from invariance.apps.cli import main

sys.exit(main())
