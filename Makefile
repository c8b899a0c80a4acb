# Two entry points (see README): `make synth` and `make test`.
# Both install what is missing first: pipenv, the locked Python packages
# (.venv, from Pipfile.lock) and the pinned Node.js 22 (node_modules, from
# package-lock.json) that jsii uses.

PYTHON      ?= python3
PIPENV_VERSION := 2026.10.3
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
PIPENV      := $(PYTHON) -m pipenv
RUN         := $(PIPENV) run

.PHONY: synth test setup checks bench clean

synth: setup
	$(RUN) python main.py
	@echo "synthesized: $$(ls cdktf.out/stacks | tr '\n' ' ')"

test: setup
	$(RUN) pytest
	$(MAKE) --no-print-directory checks

checks: setup
	$(RUN) python main.py
	$(RUN) python -m guardrails.schema cdktf.out
	$(RUN) python -m guardrails.structural cdktf.out
	$(RUN) python tools/checkov_scan.py --outdir cdktf.out --update-doc docs/verification.md --update-doc README.md

bench: setup
	$(RUN) python tools/bench_synth.py --suite

setup: .venv/.synced node_modules/.synced

.venv/.synced: Pipfile.lock
	@$(PIPENV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "pipenv==$(PIPENV_VERSION)"
	$(PIPENV) sync --dev
	@touch $@

node_modules/.synced: package-lock.json
	npm ci --no-audit --no-fund
	@node_modules/.bin/node --version
	@touch $@

clean:
	rm -rf cdktf.out .venv node_modules
