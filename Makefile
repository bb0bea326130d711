# Set-up and everyday commands. Every target installs what it needs on a fresh Debian machine with Python 3.11.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
STAMP   := $(VENV)/.installed

.PHONY: demo test bench fuzz gallery dot chromium spin clean

# wolf and what it needs to run: all that `make demo` installs. The editable install leaves wolf's own packages
# uncompiled, and where PYTHONDONTWRITEBYTECODE is set no run would ever cache their bytecode: every `wolf`
# process would compile them again (0.1-0.15 s of every check of NSPK), so they are byte-compiled here once.
$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	$(BIN)/python -m compileall -q checker dsl
	touch $(RUNTIME)

# ... and the test tools (pytest, hypothesis, mypy, jsonschema), for `make test`.
$(STAMP): $(RUNTIME) pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Graphviz's `dot` renders the SVG charts; installed through apt-get when missing and we are root.
dot:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq graphviz >/dev/null; \
	  else echo "note: install Graphviz (apt-get install graphviz) for SVG output"; fi; }

# Debian's SPIN is the independent reference of tests/test_spin.py; skipped politely when it cannot be installed.
spin:
	@command -v spin >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq spin >/dev/null || true; \
	  else echo "note: install spin for the differential test"; fi; }

# Debian's Chromium opens the HTML report in the browser test; skipped politely when it cannot be installed.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null || true; \
	  else echo "note: install chromium for the browser test"; fi; }

demo: $(RUNTIME) dot
	$(BIN)/wolf check models/mutex/lamport_unordered.wolf -D N=2 --svg-dir reports; test $$? -le 1
	@echo
	@echo "The charts are in reports/lamport_unordered/: open them in a browser, e.g."
	@echo "  xdg-open reports/lamport_unordered/mutex.svg     (or: python3 -m webbrowser -t reports/lamport_unordered/mutex.svg)"
	@echo "To use wolf yourself, put it on the PATH with  . .venv/bin/activate  (or call .venv/bin/wolf)."

test: $(STAMP) dot chromium spin
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

# The gallery: every model of the library checked, with its counterexamples drawn (see reports/README.md).
# The previous gallery goes first, so reports/ holds only what the current models produce.
gallery: $(RUNTIME) dot
	mkdir -p reports && find reports -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	$(BIN)/wolf report models --out reports

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# The fuzz campaign: 10,000 mutated and generated models through `wolf check` (about half an hour on one core;
# `make fuzz COUNT=1000 SEED=7` for a shorter or another one). Failing inputs go to fuzz-failures/.
COUNT ?= 10000
SEED ?= 1
fuzz: $(STAMP)
	$(BIN)/python tests/fuzzing.py --count $(COUNT) --seed $(SEED)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info fuzz-failures
