# facessl — `make demo` and `make test` set up .venv themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
STAMP := $(VENV)/.facessl-installed
DEMO_DIR ?= work_dirs/demo
PYTEST_ARGS ?=

.PHONY: install demo test clean

install: $(STAMP)

$(STAMP): setup.py requirements/runtime.txt requirements/tests.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	# torch first: torchvision from PyPI needs this exact torch build.
	$(PIP) install torch==2.14.1 torchvision==0.29.1
	$(PIP) install -r requirements/runtime.txt -r requirements/tests.txt
	$(PIP) install --no-build-isolation --no-deps -e .
	touch $(STAMP)

# A short real pretraining on synthetic faces: progress with ETA, kNN before
# and after, checkpoint, log, TensorBoard scalars and pictures in DEMO_DIR.
demo: install
	$(PY) tools/demo.py --work-dir $(DEMO_DIR)

# The test suite; pytest exits 5 when it collects no test, which fails too.
test: install
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} $(PY) -m pytest -q -p no:cacheprovider \
		tests plugins/facessl-example-plugin/tests $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) work_dirs
