# limitlab: `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

UV_VERSION := 0.13.8
PYTHON ?= python3
# Use uv from PATH when there is one; otherwise bootstrap a pinned uv into .tools/.
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen
HOST ?= 127.0.0.1
PORT ?= 5000
SERVE_PORT ?= 5001
MODEL ?= limitlab-pd

.PHONY: help env repro test unit lint bench ui serve lab clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --inexact: a group another target installed (lab) stays installed, so no target undoes another
env: $(UV) ## Create .venv from uv.lock (Python 3.11+)
	$(UV) sync --frozen --inexact

repro: env ## Set up, run the whole pipeline (dvc repro) on the default data, print a summary
	$(RUN) dvc repro
	@echo
	$(RUN) limitlab summary

test: env ## Set up, then run ruff and pytest
	$(RUN) ruff check src tests benchmarks
	$(RUN) ruff format --check src tests benchmarks
	$(RUN) pytest

unit: env ## Set up, then ruff and the unit tests alone (no pipeline, server or database tests)
	$(RUN) ruff check src tests benchmarks
	$(RUN) ruff format --check src tests benchmarks
	$(RUN) pytest -m "not pipeline and not server and not database"

lint: env ## Ruff lint and format check only
	$(RUN) ruff check src tests benchmarks
	$(RUN) ruff format --check src tests benchmarks

bench: env ## Benchmarks (print figures; never part of the tests; reasons and serving need make repro)
	$(RUN) python benchmarks/bench_policy.py
	$(RUN) python benchmarks/bench_reasons.py
	$(RUN) python benchmarks/bench_serving.py
	$(UV) run --frozen --with polars --with duckdb python benchmarks/bench_engines.py
	$(RUN) python benchmarks/bench_scale.py $(BENCH_ARGS)
	$(RUN) python benchmarks/bench_streamed_train.py

ui: env ## MLflow UI on 127.0.0.1 against the project's store
	$(RUN) mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db \
		--default-artifact-root $(CURDIR)/mlartifacts --host $(HOST) --port $(PORT)

serve: env ## Serve models:/limitlab-pd@champion on 127.0.0.1:$(SERVE_PORT), one worker per core
	MLFLOW_TRACKING_URI=sqlite:///$(CURDIR)/mlflow.db $(RUN) limitlab serve \
		--model models:/$(MODEL)@champion --host $(HOST) --port $(SERVE_PORT)

lab: env ## JupyterLab on 127.0.0.1 (installs the lab group)
	$(UV) sync --frozen --group lab
	$(UV) run --frozen --group lab jupyter lab --ip $(HOST) --no-browser \
		$(if $(filter 0,$(shell id -u)),--allow-root)

clean: ## Remove pipeline outputs: git-ignored files only (keeps tracked files, data/raw, mlflow.db, .venv)
	git clean -fdqX -- data/interim data/processed models reports
