# The commands a reader needs: `make figures`, `make test`, `make lab`. Each sets up .venv first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= default
DEVICE ?= cpu
export HF_HUB_OFFLINE ?= 1
export PYTHONUNBUFFERED := 1

.PHONY: help test figures weights lab lab-check site data bench lint format clean-cache

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name invariance --display-name "Python (invariance)"
	touch $(STAMP)

venv: $(STAMP)  ## create .venv and install the pinned dependencies (done by every target)

test: $(STAMP)  ## run the test suite, including smoke runs of every notebook
	$(PY) -m pytest -q

figures: $(STAMP)  ## run every notebook in PROFILE (default: default) and write figures/
	$(PY) -m invariance.apps.run_notebooks --profile $(PROFILE)

weights: $(STAMP)  ## train the notebooks' CIFAR-10 networks into weights/ (resumable; DEVICE=cuda on a GPU)
	$(PY) -m invariance.apps.weights --device $(DEVICE)

lab: $(STAMP)  ## open the notebooks in JupyterLab with the project's kernel
	$(VENV)/bin/jupyter lab notebooks/

lab-check: $(STAMP)  ## run notebook 04 in JupyterLab in headless Chromium, change a widget, screenshot it
	$(PY) -c "import playwright" 2>/dev/null || $(PY) -m pip install --quiet playwright==1.65.2
	$(PY) tools/lab_check.py

site: $(STAMP)  ## build the static site (README, docs/, executed notebooks) into build/site/ and check it in headless Chromium
	$(PY) -c "import mkdocs_jupyter, playwright" 2>/dev/null || $(PY) -m pip install --quiet -r requirements-site.txt
	NO_MKDOCS_2_WARNING=1 $(PY) -m invariance.apps.site --check

data: $(STAMP)  ## download the ImageNet sample, val boxes, val-227 photos, CIFAR-10 and video clips into data/ where missing
	$(PY) -m invariance.apps.fetch fetch

bench: $(STAMP)  ## print the speed benchmark (runner vs forward vs naive)
	$(PY) -m invariance.apps.bench

lint: $(STAMP)  ## ruff check and format check
	$(VENV)/bin/ruff check lib tests notebooks tools && $(VENV)/bin/ruff format --check lib tests notebooks tools

format: $(STAMP)  ## ruff format
	$(VENV)/bin/ruff format lib tests notebooks tools && $(VENV)/bin/ruff check --fix lib tests notebooks tools

clean-cache:  ## delete cached evaluation tables (data/cache)
	rm -rf data/cache
