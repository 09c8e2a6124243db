# Two commands from a fresh clone: `make demo` and `make test` (and `make docs`).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
MPI_STAMP := $(VENV)/.mpi-tried

.PHONY: demo test docs test-mpi mpi-install mpi-smoke venv bench bench-kernels clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e ".[test,plot,train,twolevel,docs]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/autospec bench --matrices autospec/data --poisson 200 --out bench-out/demo

# `make test` runs the test suite, the examples of the docstrings and of docs/ as doctests,
# and the Sphinx build (tests/test_docs.py). It also tries the PETSc back end's
# dependencies once (best effort, at most 10 minutes; they fit CI's time): without apt as
# root, or if anything fails, it says so in one line and tests/test_petsc.py skips.
test: $(STAMP) $(MPI_STAMP)
	$(PY) -m pytest -q

# Under CI (CI=true) on a machine where apt works as root, a failed install fails `make test`;
# elsewhere it is best effort: one line, and tests/test_petsc.py skips.
MPI_REQUIRED := $(shell [ "$$CI" = true ] && [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null && echo 1)
$(MPI_STAMP): $(STAMP)
	@timeout 900 $(MAKE) --no-print-directory mpi-install mpi-smoke > $(VENV)/mpi-install.log 2>&1 \
		&& echo "autospec: PETSc/MPI back end installed (log: $(VENV)/mpi-install.log)" \
		|| { $(PY) -m pip uninstall -y -q petsc4py > /dev/null 2>&1; \
		     if [ -n "$(MPI_REQUIRED)" ]; then \
		       echo "autospec: PETSc/MPI back end failed to install under CI (log: $(VENV)/mpi-install.log):"; \
		       tail -n 30 $(VENV)/mpi-install.log; exit 1; fi; \
		     echo "autospec: PETSc/MPI back end not installed, its tests will be skipped (log: $(VENV)/mpi-install.log)"; }
	@touch $(MPI_STAMP)

# The PETSc back end (autospec.petsc): Debian's PETSc 3.18 and Open MPI (apt, root; ~25 s),
# then petsc4py 3.18.5 built from PyPI against it (~2 min). petsc4py 3.18's setup does not run
# with the setuptools that pip installs today (torch 2.13 needs setuptools >= 77 in the venv),
# so its wheel is built in a throwaway build environment with setuptools < 70, Cython < 3.1 and
# the venv's own numpy (the C API it compiles against), and that wheel is installed.
PETSC_DIR_DEBIAN := /usr/lib/petscdir/petsc3.18/x86_64-linux-gnu-real
PETSC_BUILD := $(VENV)/petsc4py-build
mpi-install: $(STAMP)
	apt-get install -y -qq --no-install-recommends libpetsc-real-dev openmpi-bin \
		|| { apt-get update -qq && apt-get install -y -qq --no-install-recommends libpetsc-real-dev openmpi-bin; }
	$(PY) -m pip install --quiet mpi4py
	rm -rf $(PETSC_BUILD) && $(PYTHON) -m venv $(PETSC_BUILD)
	$(PETSC_BUILD)/bin/python -m pip install --quiet "setuptools<70" wheel "cython<3.1" \
		"numpy==$$($(PY) -c 'import numpy; print(numpy.__version__)')"
	PETSC_DIR=$(PETSC_DIR_DEBIAN) PETSC_ARCH= $(PETSC_BUILD)/bin/python -m pip wheel --quiet --no-deps \
		--no-build-isolation --no-binary petsc4py -w $(PETSC_BUILD)/wheels petsc4py==3.18.5
	$(PY) -m pip install --quiet --no-deps $(PETSC_BUILD)/wheels/petsc4py-3.18.5-*.whl
	rm -rf $(PETSC_BUILD)

# two ranks must start and meet, or the back end counts as not installed
MPI_ROOT_FLAGS := $(shell [ "$$(id -u)" = 0 ] && echo --allow-run-as-root --oversubscribe)
mpi-smoke:
	timeout 120 mpiexec $(MPI_ROOT_FLAGS) -n 2 $(PY) -c "from petsc4py import PETSc; PETSc.COMM_WORLD.barrier()"

test-mpi: mpi-install
	$(PY) -m pytest -q tests/test_petsc.py

# The API documentation (Sphinx + numpydoc; warnings are errors): docs/_build/html/index.html
docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

bench: $(STAMP)
	$(PY) -m benchmarks.cg

bench-kernels: $(STAMP)
	$(PY) -m benchmarks.kernels --suitesparse

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis docs/_build docs/_generated
