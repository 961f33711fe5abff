"""Entry points: the `invariance` command line (cli), `make figures` (run_notebooks), `make bench`
(bench), `make data` (fetch), the notebooks' profiles (profiles) and widgets (explore)."""
