# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench clean browser screenshots

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (or run: make PYTHON=python3 ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,app]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/funnelsim demo

# Lint (ruff), then the whole suite, slow statistical tests included, on every core (pytest-xdist),
# with branch coverage of sim/ enforced at 90%; then the documentation site, built strictly (a
# broken link, page or generated reference fails).
test: $(STAMP) browser
	$(BIN)/ruff check sim tests benchmarks docs/hooks
	$(BIN)/mypy sim   # types, strict on sim/ (settings: [tool.mypy] in pyproject.toml)
	$(BIN)/python -m pytest -q -n auto --cov=sim --cov-branch --cov-report=term:skip-covered --cov-fail-under=90
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet   # the documentation site, into the git-ignored site/

# The report and the app are checked in headless Chromium (system packages; the app's Selenium
# tests drive it through Debian's chromium-driver, /usr/bin/chromedriver). Installed here when we
# may (root or passwordless sudo, apt); otherwise the browser tests skip and say why. Nothing here
# downloads a browser.
browser:
	@{ command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; } && \
	  { command -v chromedriver >/dev/null 2>&1 || [ -x /usr/bin/chromedriver ]; } || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; \
	  else echo "note: Chromium not found and not installable here: the browser tests will skip"; exit 0; fi; \
	  command -v apt-get >/dev/null 2>&1 || { echo "note: no apt-get: install Chromium yourself to run the browser tests"; exit 0; }; \
	  echo "installing Chromium (system package) for the report's browser tests..."; \
	  $$SUDO apt-get update -qq >/dev/null 2>&1; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 || \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium-browser >/dev/null 2>&1 || \
	    echo "note: could not install Chromium: the browser tests will skip"; }

# Remake the app screenshots the docs show (docs/images/app-*.png) from the browser tests.
screenshots: $(STAMP) browser
	FUNNELSIM_SCREENSHOTS=docs $(BIN)/python -m pytest -q tests/test_app_browser.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_experiment.py

clean:
	rm -rf $(VENV) .pytest_cache
