# Two commands from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-mpi venv bench bench-kernels clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e ".[test,plot,train,twolevel]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/autospec bench --matrices autospec/data --poisson 200 --out bench-out/demo

test: $(STAMP)
	$(PY) -m pytest -q

# The PETSc back end (autospec.petsc): Debian's PETSc 3.18 and Open MPI (apt, root; ~25 s),
# then petsc4py 3.18.5 built from PyPI against it inside the venv (~2 min), then its tests.
PETSC_DIR_DEBIAN := /usr/lib/petscdir/petsc3.18/x86_64-linux-gnu-real
test-mpi: $(STAMP)
	apt-get install -y --no-install-recommends libpetsc-real-dev openmpi-bin
	$(PY) -m pip install --quiet "cython<3.1" setuptools wheel mpi4py
	PETSC_DIR=$(PETSC_DIR_DEBIAN) PETSC_ARCH= $(PY) -m pip install --quiet --no-build-isolation petsc4py==3.18.5
	$(PY) -m pytest -q tests/test_petsc.py

bench: $(STAMP)
	$(PY) -m benchmarks.cg

bench-kernels: $(STAMP)
	$(PY) -m benchmarks.kernels --suitesparse

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
