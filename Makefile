# Two commands do everything: `make demo` and `make test`. Both create .venv and install once.
PYTHON ?= python3.11
VENV ?= .venv
# The CPU build of torch; override e.g. TORCH_SPEC="torch==2.13.0+cu128" for another build.
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= dev,febrl,dask,glove,web
# One thread each for torch and scikit-learn: on few cores their two OpenMP pools spinning side
# by side make the many small fits of the loop and the tests several times slower.
export OMP_NUM_THREADS ?= 1
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(EXTRAS)

.PHONY: demo test lint install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/riskweasul demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
