# The two commands a fresh machine needs: `make demo` and `make test`.
# Each makes .venv if there is none, installs the package with what it needs (and the Graphviz
# `dot` program when it is missing), then runs.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench graphviz clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,examples]"
	@touch $(STAMP)

graphviz:
	@command -v dot >/dev/null 2>&1 || .ci/install-graphviz

demo: $(STAMP) graphviz
	$(PY) examples/hello.py --render hello_graph.png

test: $(STAMP) graphviz
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check tinygrad_rnn viz examples tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/bench_rnn.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
