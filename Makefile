# The two commands a fresh machine needs: `make demo` and `make test` (`make help` lists all).
# Each makes .venv if there is none, installs the package with its extras (and the Graphviz
# `dot` program when it is missing), then runs.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXTRAS := dev,examples,flow,notebooks
DEMO_PICTURE := hello_graph.png

.PHONY: help demo test test-slow lint bench graphviz clean

help: ## list the targets
	@echo "make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  \1\t\2/' | expand -t 14

$(STAMP): pyproject.toml
	@if [ ! -x $(PY) ]; then \
	  echo "==> creating the virtual environment $(VENV) (with $(PYTHON))"; \
	  $(PYTHON) -m venv $(VENV) || exit 1; \
	fi
	@echo "==> installing tinygrad-rnn into $(VENV) with the extras [$(EXTRAS)] (a minute or two the first time)"
	@$(PY) -m pip install --quiet --upgrade pip > $(VENV)/pip.log 2>&1 && \
	  $(PY) -m pip install --quiet -e ".[$(EXTRAS)]" >> $(VENV)/pip.log 2>&1 || \
	  { cat $(VENV)/pip.log; echo "error: installing failed; the log above is in $(VENV)/pip.log"; exit 1; }
	@touch $(STAMP)

graphviz: ## install the Graphviz `dot` program if it is missing
	@command -v dot >/dev/null 2>&1 || .ci/install-graphviz

demo: $(STAMP) graphviz ## train the hello task and draw its unrolled graph
	@echo "==> compiling the Numba kernels the demo needs (once: they are cached on disk)"
	@$(PY) -c "from tinygrad_rnn import hello; hello.train(epochs=1, fused=False); hello.train(epochs=1)"
	@echo "==> training the hello task: one RNN cell learns 'hello' -> 'ohlol'"
	@$(PY) examples/hello.py --render $(DEMO_PICTURE)
	@echo
	@echo "The pictures: $(CURDIR)/$(DEMO_PICTURE) (loss at every step)"
	@echo "              $(CURDIR)/$(basename $(DEMO_PICTURE))_last_step.png (loss at the last step: the gradient fades)"
	@echo "Next, try:"
	@echo "  1. the same task with an LSTM cell:  $(PY) examples/hello.py --cell lstm --render lstm.png"
	@echo "  2. a character language model:       $(VENV)/bin/tinygrad-rnn train --quick"
	@echo "  3. the notebooks, in order:          notebooks/01_rnn_cell.ipynb ... 07 (see README.md)"
	@echo "Activate the environment with:  source $(VENV)/bin/activate"

test: $(STAMP) graphviz ## run the test suite (slow tests left out)
	$(PY) -m pytest

test-slow: $(STAMP) graphviz ## run only the tests marked slow
	$(PY) -m pytest -m slow

lint: $(STAMP) ## ruff
	$(PY) -m ruff check tinygrad_rnn viz examples tests benchmarks notebooks

$(VENV)/.bench-installed: $(STAMP)
	@echo "==> installing the benchmark's peers into $(VENV): the extra [bench] (PyTorch, JAX; a few minutes the first time)"
	@$(PY) -m pip install --quiet -e ".[$(EXTRAS),bench]" >> $(VENV)/pip.log 2>&1 || \
	  { tail -20 $(VENV)/pip.log; echo "error: installing failed; the log is in $(VENV)/pip.log"; exit 1; }
	@touch $@

bench: $(VENV)/.bench-installed ## the speed comparisons in benchmarks/ (BENCH_ARGS=--quick: a short run)
	$(PY) benchmarks/bench_rnn.py $(BENCH_ARGS)

clean: ## remove the environment, build files and numba's compiled kernels
	rm -rf $(VENV) .pytest_cache build *.egg-info
	find tinygrad_rnn -name '*.nb[ic]' -delete
