# Two set-up commands: `make run` and `make test`. Everything else is a convenience.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8501

.PHONY: run test test-slow lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check facility_planner tests benchmarks app.py
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check --fix facility_planner tests benchmarks app.py
	$(BIN)/ruff format --check facility_planner tests benchmarks app.py || true

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache test-artifacts
