# Two commands set everything up on a fresh machine:
#   make demo   create .venv, install snapsim, run the main job on the shipped defaults
#   make test   create .venv, install snapsim with its test extras, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
EXTRAS ?= dev,torch,dask,notebooks
STAMP := $(VENV)/.installed

.PHONY: install build demo test fuzz bench traces zoo docs clean

install: $(STAMP)

$(STAMP): setup.cfg setup.py pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch first, pinned to the CPU build; everything else is constrained to keep it
	$(PIP) install -q -c constraints.txt torch==2.13.0
	# SNN frameworks whose declared dependencies would pull torchvision/torchaudio/tensorboard: no deps
	$(PIP) install -q -c constraints.txt --no-deps norse==1.1.0 spikingjelly==2.0.0
	$(PIP) install -q -c constraints.txt -e '.[$(EXTRAS)]'
	touch $(STAMP)

# compile the modules snapsim/native.py lists again in place if their source changed since the install (quick
# when nothing did); without a C compiler they run as Python
build: install
	$(PY) setup.py -q build_ext --inplace

demo: build
	$(VENV)/bin/snapsim demo

test: build
	$(PY) -m pytest -q -p no:cacheprovider

# the fuzz and fault suite ten times larger than in `make test`, with a random seed (printed; rerun one with
# `python tests/fuzz/run.py --size long --seed N`): prints its figures, exits 1 unless they meet issue 14's bar
fuzz: build
	$(PY) tests/fuzz/run.py --size long

bench: build
	$(VENV)/bin/snapsim bench

# retrain the example models (snapsim/examples) and rewrite the shipped traces and their workload files in
# the package data, snapsim/data/workloads (= workloads/ through the symlink), and the ANN-only and SNN-only
# accuracy references of the same models (workloads/references.json; about 14 minutes on 2 cores)
traces: install
	$(PY) -m snapsim.examples.digits_snap
	$(PY) -m snapsim.examples.charlm_snap
	$(PY) -m snapsim.examples.references

# regenerate the reference pages of the input file kinds from the config models (docs/reference/)
docs: install
	$(PY) -m snapsim.config.reference docs/reference

# rewrite the shipped model-zoo workloads from the tables in snapsim/zoo.py
zoo: install
	$(VENV)/bin/snapsim zoo --all --out-dir snapsim/data/workloads/zoo

clean:
	rm -rf $(VENV) build dist *.egg-info
	find snapsim \( -name '*.so' -o -name '*.so.sha256' -o -name '*.c' \) -delete  # the compiled modules' builds
