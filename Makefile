PYTHON ?= python3
export PIP_ROOT_USER_ACTION := ignore
PIP = $(PYTHON) -m pip install --quiet --disable-pip-version-check

.PHONY: demo test bench install

install:
	$(PIP) -e .

demo: install
	$(PYTHON) tools/demo.py

test:
	$(PIP) -e '.[test]'
	$(PYTHON) -m pytest

bench:
	$(PIP) -e '.[bench]'
	$(PYTHON) tools/bench.py
