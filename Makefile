# The two quick-start commands: `make serve` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: serve test eval bench chat chromium pgtools wrk

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/zaitaku-desk serve

chat: $(STAMP)
	$(VENV)/bin/zaitaku-desk chat

# The console's browser tests drive Debian's chromium (never a downloaded browser), with a Japanese font
# so that pages and screenshots show Japanese rather than boxes, and an emoji font for 📞 and 🚑.
chromium:
	@{ command -v chromium >/dev/null 2>&1 && fc-list :lang=ja 2>/dev/null | grep -q . && fc-list | grep -qi emoji; } || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-ipafont-gothic \
	    fonts-noto-color-emoji >/dev/null; }

# `zaitaku-desk db backup/restore` on PostgreSQL use its own pg_dump and pg_restore (tests/test_backup.py).
pgtools:
	@command -v pg_dump >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null; }

# The ingest benchmark's load generator (bench/ingest.py): Debian's wrk.
wrk:
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

test: $(STAMP) chromium pgtools
	$(VENV)/bin/python -m pytest -q

eval: $(STAMP)
	$(VENV)/bin/zaitaku-desk eval ../shared/eval/dev.jsonl

bench: $(STAMP) wrk
	$(VENV)/bin/python bench/routing.py
	$(VENV)/bin/python bench/resources.py
	$(VENV)/bin/python bench/backlog.py
	$(VENV)/bin/python bench/ingest.py
	$(VENV)/bin/python bench/webhook.py
	$(VENV)/bin/python bench/console_queue.py
