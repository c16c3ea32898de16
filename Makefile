# Two commands on a fresh clone: `make demo` and `make test`. Only Python 3.11+ and make are needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Reinstall whenever pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test lint browser bench bench-delivery bench-district bench-mixed bench-meetings serve migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/grassroots demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint browser
	$(BIN)/pytest

# The phone-page tests drive Debian's Chromium with a Chinese font. Installed when apt-get can (root);
# elsewhere those tests skip with the command to run.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium and fonts-wqy-microhei for the page tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	  else echo "chromium or a Chinese font is missing: apt-get install -y chromium fonts-wqy-microhei"; fi; \
	fi

bench: $(STAMP)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python benchmarks/run.py

bench-delivery: $(STAMP)
	$(BIN)/python benchmarks/delivery.py

bench-district: $(STAMP)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python benchmarks/district.py

bench-mixed: $(STAMP)
	$(BIN)/python benchmarks/mixed_burst.py

# The compliance roll-up and the reminder tick in-process, then a meeting's reminders to 10,000 people
# through the dispatcher; both run, the status says whether every target was met.
bench-meetings: $(STAMP)
	$(BIN)/python benchmarks/meetings.py; status=$$?; \
	$(BIN)/python benchmarks/delivery.py --subject meeting || status=$$?; exit $$status

migrate: $(STAMP)
	$(BIN)/grassroots migrate

serve: $(STAMP)
	$(BIN)/grassroots serve

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
