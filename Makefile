PYTHON ?= python3
export PIP_ROOT_USER_ACTION := ignore
PIP = $(PYTHON) -m pip install --quiet --disable-pip-version-check

# The versions `make test` also runs the suite on, one virtual environment
# each under .venv-matrix/ (tools/matrix.sh): py<Python>-numpy<NumPy>.
# NumPy 1.26 has wheels up to Python 3.12.
MATRIX = py3.10-numpy1.26 py3.12-numpy2 py3.13-numpy2
# Test runs at once (2 cores: two suites side by side).
JOBS ?= 2
# Test processes of each suite (pytest-xdist): a suite running alone, as the
# last of `make test` does and `make test-current` on its own, uses both cores.
export WORKERS ?= 2

.PHONY: demo test test-current docs docs-check wheel-check bench install matrix-setup $(addprefix matrix-test-,$(MATRIX))

install:
	$(PIP) -e .

demo: install
	$(PYTHON) tools/demo.py

# The suite on the current interpreter and on every entry of MATRIX, and the
# wheel and sdist checked from fresh environments (wheel-check). The jobs run
# JOBS at a time, each one's output printed whole when it ends. wheel-check
# goes first: it mostly waits on the package index and on pip, so the first
# suite has the CPU meanwhile. Each matrix job sets up its own environment
# first (tools/matrix.sh run), while the suites before it run: the set-ups
# take their turn under a lock, since pip writes into the source tree.
test:
	$(PIP) -e '.[test,docs]'
	$(MAKE) --no-print-directory -j$(JOBS) --output-sync=target wheel-check test-current docs-check $(addprefix matrix-test-,$(MATRIX))

test-current:
	@echo "current: $$($(PYTHON) -c 'import sys, numpy; print(f"Python {sys.version.split()[0]}, NumPy {numpy.__version__}")')"
	$(PYTHON) -m pytest -rs -n $(WORKERS)

# Build the wheel and the sdist from a copy of the tree, install each in a
# fresh virtual environment under a temporary folder, and run the CLI, a
# Jacobian and the sdist's own tests there (tools/wheel_check.sh).
wheel-check:
	@PYTHON=$(PYTHON) tools/wheel_check.sh

matrix-setup:
	@for name in $(MATRIX); do tools/matrix.sh setup $$name || exit 1; done

$(addprefix matrix-test-,$(MATRIX)): matrix-test-%:
	@tools/matrix.sh run $*

# The documentation site (MkDocs; the API reference is generated from the
# docstrings by mkdocstrings) in build/site/.
docs:
	$(PIP) -e '.[docs]'
	$(PYTHON) -m mkdocs build --strict

# A job of `make test`: the site builds without a warning (a broken link, a
# docstring that names a parameter the function lacks).
docs-check:
	@echo "docs: mkdocs build --strict"
	$(PYTHON) -m mkdocs build --strict --quiet --site-dir build/site-check

bench:
	$(PIP) -e '.[bench]'
	$(PYTHON) tools/bench.py
	$(PYTHON) tools/bench_executor.py
