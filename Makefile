# Entry points (see README): `make synth` and `make test`; for the CDKTF CLI
# `make cli`, `make bootstrap ENV=<env>`, `make baseline ENV=<env>`,
# `make deploy ENV=<env> [STACK=<stacks>]` and `make diff STACK=<stack>` (thin wrappers of the `npx cdktf ...` commands
# in the README, which work as written after `make cli`).
# `make plan ENV=<env>` plans an environment into plans/<env>/*.json for
# tools/review/plan_review.py (docs/plan-review.md). `make preflight ENV=<env>` makes
# the read-only calls bootstrap, baseline and deploy make before the CLI starts.
#
# Everything installs what is missing first, nothing twice: pipenv, the
# locked Python packages (.venv, from Pipfile.lock) and the pinned Node.js 22
# that jsii uses (node_modules, the "dependencies" of package-lock.json).
# The CDKTF CLI (~420 MB, the "devDependencies") is installed only by what
# needs it: `make cli`, and so test, bootstrap, baseline, deploy and diff.

PYTHON      ?= python3
PIPENV_VERSION := 2026.10.3
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
# pipenv lives in a project-local tool environment (never the system Python:
# Debian/Ubuntu refuse that, PEP 668); .venv is built with $(PYTHON).
TOOLS       := .tools
PIPENV      := $(TOOLS)/bin/python -m pipenv
RUN         := $(PIPENV) run
SUPPORTED_PYTHONS := 3.11 3.12 3.13
# Only used to install the pinned Node.js 22 (package.json) with npm.
NODE_MINIMUM := 18
NPM_CI      := npm ci --no-audit --no-fund

# CDKTF CLI wrappers. The CLI's usage telemetry goes to HashiCorp, which
# archived the project: off unless you set CHECKPOINT_DISABLE yourself.
export CHECKPOINT_DISABLE ?= 1
TERRAFORM   := $(or $(TERRAFORM_BINARY_NAME),terraform)
ENV         ?=
STACK       ?=
CDKTF_ARGS  ?=
# The stacks of an environment after its bootstrap; the CLI deploys them in
# dependency order. Bootstrap is deployed on its own first (README).
ENV_STACKS   = $(foreach part,security network data services,payment-$(ENV)-$(part))

.PHONY: synth test setup cli checks docs refresh lint format bench terrain-check clean prerequisites other-python bootstrap deploy preflight diff terraform-check env-check env-given stack-check deploy-stack-check python-check approval-check

# What a goal checks before anything is installed, each check one line
# naming what is wrong: its arguments (ENV given and defined in
# configuration, STACK given and configured, for
# deploy one of ENV's stacks), terraform, the approval under CI; then the
# prerequisites (Python, Node.js). The install steps wait for the checks of
# the goals given (order-only prerequisites), so also under make -j nothing
# is installed before they pass.
CHECKS_bootstrap := env-check terraform-check approval-check
CHECKS_deploy    := $(CHECKS_bootstrap) deploy-stack-check
CHECKS_baseline  := $(CHECKS_bootstrap)
CHECKS_diff      := stack-check terraform-check
CHECKS_plan      := env-check
CHECKS_verify    := env-check
CHECKS_preflight := env-check
GOAL_CHECKS      := $(foreach goal,$(MAKECMDGOALS),$(CHECKS_$(goal)))

synth: setup
	$(RUN) python main.py
	@echo "synthesized: $$(ls cdktf.out/stacks | tr '\n' ' ')"

# The CLI workflow test runs the real CLI (~30-40 s) and the make plan test
# synthesizes in a copy of the project, so a direct pytest run skips them
# and this target runs them on their own (tests/test_cli_workflow.py,
# tests/test_plan_env.py).
test: setup cli lint
	$(RUN) pytest
	$(RUN) pytest -m "aws_replay or app_synthesis"
	PAYMENT_CLI_TESTS=1 $(RUN) pytest tests/test_cli_workflow.py tests/test_plan_env.py
	$(MAKE) --no-print-directory checks
	$(MAKE) --no-print-directory workflows

# The tests hold for any valid configuration: the fast suite against a
# second, realistic one (tests/fixtures/realistic.py: every placeholder
# replaced, other accounts and region, renamed environments, a fourth
# service), then README "Before the first deployment" followed in a
# temporary copy that reuses .venv and node_modules (tools/dev/readme_walkthrough.py).
# Part of .ci/run and of the pull-request workflow, not of make test.
.PHONY: test-configurations
test-configurations: setup cli
	PAYMENT_CONFIG=tests.fixtures.realistic $(RUN) pytest
	PAYMENT_CONFIG=tests.fixtures.realistic $(RUN) pytest -m "aws_replay or app_synthesis"
	.venv/bin/python tools/dev/readme_walkthrough.py

checks: setup
	$(RUN) python main.py
	$(RUN) python -m guardrails.schema cdktf.out
	$(RUN) python -m guardrails.structural cdktf.out
	$(RUN) python tools/checks/checkov_scan.py --outdir cdktf.out --check-doc docs/verification.md --check-doc README.md
	$(RUN) python tools/diagrams/cli.py --check
	$(RUN) python tools/review/plan_env.py --check-workflows

# ruff (lint, format) and mypy, configured in pyproject.toml; checks only.
lint: setup
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

# Rewrites the code the way `make lint` wants it (import order, format).
format: setup
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

# Refreshes the generated figures in tracked docs (checkov counts): the scan
# writes its counts, tools/checks/checkov_docs.py rewrites the tables from them;
# `make checks` only verifies them and fails, naming this target, when stale.
docs: setup
	$(RUN) python main.py
	$(RUN) python tools/checks/checkov_scan.py --outdir cdktf.out --summary-json cdktf.out/checkov-counts.json
	$(RUN) python tools/checks/checkov_docs.py --counts cdktf.out/checkov-counts.json docs/verification.md README.md

# After a configuration change (a service, an environment; README "Common
# changes"): rewrites what is derived from the configuration and tracked
# (code format, checkov counts in docs, diagrams), one after the other, then
# checks that the workflows name the configured environments and services
# (tools/review/plan_env.py --check-workflows names what to edit). The test
# snapshots are of the example (tests/fixtures/example.py): a change of
# config/environments.py does not touch them.
refresh: setup
	$(MAKE) --no-print-directory format
	$(MAKE) --no-print-directory docs
	$(MAKE) --no-print-directory diagram
	$(RUN) python tools/review/plan_env.py --check-workflows

# Architecture diagrams drawn from the synthesized Terraform, one model and
# three views per environment in docs/diagrams/ (tools/diagrams/cli.py,
# docs/diagrams.md); make checks (tools/diagrams/cli.py --check) fails when they are stale.
.PHONY: diagram
diagram: synth
	$(RUN) python tools/diagrams/cli.py

# A second supported Python synthesizes the same bytes (tools/checks/other_python_check.sh).
other-python: synth
	sh tools/checks/other_python_check.sh

bench: setup
	$(RUN) python tools/bench/bench_synth.py --suite

# The app on CDK Terrain (cdktn) beside cdktf: a separate pinned environment in
# .bench/terrain (downloads ~70 MB once; not part of .ci/run), the one-line
# switch in a copy of the tree, output differences, checks, time and memory
# (tools/checks/terrain_check.py, docs/terrain.md).
terrain-check: setup
	.venv/bin/python tools/checks/terrain_check.py

# Read-only calls before any apply, with the credentials in the environment
# (verify/preflight.py, docs/cli.md "Preflight"): the caller's account and
# whether key policies admit it, the baseline controls to be created not
# already there, the Aurora engine version, the certificate, the Elastic IP
# quota. Each failure one line naming the configuration field; exit 1 and
# bootstrap, baseline and deploy stop before the CLI starts (nothing applied).
PREFLIGHT = .venv/bin/python -m verify.preflight --env $(ENV)

preflight: $(CHECKS_preflight) setup
	$(PREFLIGHT)

# The preflight, then the CLI deploys the stacks given ($(1)).
define PREFLIGHT_THEN_DEPLOY
	$(PREFLIGHT)
	npx cdktf deploy $(1) $(CDKTF_ARGS)
endef

bootstrap: $(CHECKS_bootstrap) cli
	$(call PREFLIGHT_THEN_DEPLOY,payment-$(ENV)-bootstrap)

# The account's security baseline (D35), a person's apply (D42). Only the
# environment that owns its account and region's baseline has the stack:
# env-check says which one does (tools/checks/check_env.py --baseline).
.PHONY: baseline
baseline: $(CHECKS_baseline) cli
	$(call PREFLIGHT_THEN_DEPLOY,payment-$(ENV)-baseline)

# STACK (optional) narrows it to some of them: a person's apply of one
# stack the deploy role is denied (docs/ci.md, "What a person applies").
deploy: $(CHECKS_deploy) cli
	$(call PREFLIGHT_THEN_DEPLOY,$(or $(STACK),$(ENV_STACKS)))

diff: $(CHECKS_diff) cli
	npx cdktf diff $(STACK) $(CDKTF_ARGS)

# Plans every stack of ENV in dependency order and saves each plan as JSON
# in $(PLANS_DIR)/<env>/<stack>.json (tools/review/plan_env.py; review them with
# tools/review/plan_review.py, docs/plan-review.md). terraform and AWS credentials
# are checked before the synthesis, terraform's version against the
# synthesized required_version after it; each missing one is one line.
PLANS_DIR   ?= plans
.PHONY: plan plan-check
plan: $(CHECKS_plan) plan-check synth
	.venv/bin/python tools/review/plan_env.py --env $(ENV) --plans-dir $(PLANS_DIR)

plan-check: setup
	@.venv/bin/python tools/review/plan_env.py --env $(ENV) --check

# Read-only checks of an applied environment with the credentials in the
# environment (the deploy or plan role): one line per check, exit 0, 1 on a
# failure, 2 bad input, 3 no credentials, 4 something could not be read
# (docs/verify.md). Synthesizes first: the expected values are the
# synthesized JSON. VERIFY_ARGS="--output verify-report" writes the evidence.
VERIFY_ARGS ?=
.PHONY: verify
verify: $(CHECKS_verify) synth
	.venv/bin/python -m verify --env $(ENV) $(VERIFY_ARGS)

# Read-only check of the repository's GitHub environments (docs/ci.md, "GitHub
# settings that must hold"): the token in GITHUB_TOKEN, REPO=<owner>/<repo>
# (default: the configuration's pipeline.github_repository). One line per
# check; exit 0, 1 on a failure, 2 bad input or no token.
REPO ?=
.PHONY: github-check
github-check: setup
	.venv/bin/python tools/checks/github_settings.py $(if $(REPO),--repo $(REPO))

# Offline checks of the GitHub Actions workflows (docs/ci.md), part of make
# test: zizmor (--offline: a GH_TOKEN in the environment would otherwise turn
# on its online audits) and GitHub's workflow schema (check-jsonschema). Both
# pinned in tools/checks/workflow-lint-requirements.txt, in their own environment.
WORKFLOW_LINT := $(TOOLS)/workflow-lint
.PHONY: workflows
workflows: $(WORKFLOW_LINT)/.synced
	$(WORKFLOW_LINT)/bin/zizmor --offline .github/workflows
	$(WORKFLOW_LINT)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

$(WORKFLOW_LINT)/.synced: tools/checks/workflow-lint-requirements.txt | $(GOAL_CHECKS) prerequisites
	@test -x $(WORKFLOW_LINT)/bin/python || $(PYTHON) -m venv $(WORKFLOW_LINT)
	$(WORKFLOW_LINT)/bin/python -m pip install --quiet --disable-pip-version-check --only-binary=:all: -r tools/checks/workflow-lint-requirements.txt
	@touch $@

# The CLI's own message for a missing terraform is "execvp(3) failed.: No
# such file or directory"; say what is missing before it starts.
terraform-check:
	@command -v "$(TERRAFORM)" >/dev/null 2>&1 || { \
	  echo "terraform not found: '$(TERRAFORM)' is not on PATH. cdktf diff and deploy run Terraform >= 1.11: install it (https://developer.hashicorp.com/terraform/install) or set TERRAFORM_BINARY_NAME to its path." >&2; \
	  exit 2; }

# ink, the CLI's terminal UI, draws only its static output when it detects
# CI (CI set to anything but "false"): the approval prompt never shows and a
# deploy without --auto-approve waits for an answer it never asks
# (docs/cli.md, "Under CI").
approval-check:
	@case "$${CI:-}" in ""|false) ;; *) case " $(CDKTF_ARGS) " in *" --auto-approve "*) ;; *) \
	  echo "CI=$${CI} is set and CDKTF_ARGS has no --auto-approve: under CI the CDKTF CLI does not draw its approval prompt, so make $(firstword $(MAKECMDGOALS)) would wait for an answer nobody sees. Pass CDKTF_ARGS=--auto-approve to apply without asking, or run it with CI=false." >&2; \
	  exit 2;; esac;; esac

# ENV names an environment of the configuration (PAYMENT_CONFIG, default
# config/environments.py), checked with make's python3 before anything is
# installed: config/ needs only the standard library (tools/checks/check_env.py).
env-check: env-given python-check
	@$(PYTHON) tools/checks/check_env.py $(if $(filter baseline,$(MAKECMDGOALS)),--baseline) "$(ENV)"

# make deploy's STACK, when given, names stacks of ENV's pipeline stacks;
# the bootstrap and baseline stacks have their own targets.
deploy-stack-check:
	@test -z "$(filter-out $(ENV_STACKS),$(STACK))" || { echo "make deploy: STACK=$(STACK) is not allowed; use one or more of $(ENV_STACKS) (bootstrap and baseline: make bootstrap, make baseline)" >&2; exit 2; }

env-given:
	@test -n "$(ENV)" || { echo "name the environment, e.g. make $(MAKECMDGOALS) ENV=dev" >&2; exit 2; }

stack-check: python-check
	@test -n "$(STACK)" || { echo "make diff: name one stack, e.g. make diff STACK=payment-dev-services" >&2; exit 2; }
	@$(PYTHON) tools/checks/check_env.py --stack "$(STACK)"

setup: $(TOOLS)/.synced .venv/.synced node_modules/.synced

cli: setup node_modules/.cli-synced

$(TOOLS)/.synced: | $(GOAL_CHECKS) prerequisites
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "pipenv==$(PIPENV_VERSION)"
	@touch $@

.venv/.synced: Pipfile.lock $(TOOLS)/.synced | $(GOAL_CHECKS) prerequisites
	@test -x .venv/bin/python || $(PYTHON) -m venv .venv
	$(PIPENV) sync --dev
	@touch $@

# Checked before anything is installed; one line names what is missing.
prerequisites: python-check
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { echo "$(PYTHON) cannot create virtual environments: install its venv package (Debian/Ubuntu: apt install python3-venv), then repeat" >&2; exit 2; }
	@command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 || { echo "node/npm not found: install Node.js >= $(NODE_MINIMUM) with npm (only used to install the pinned Node.js 22), then repeat" >&2; exit 2; }
	@version=$$(node --version 2>/dev/null); major=$${version#v}; major=$${major%%.*}; \
	  case "$$major" in ""|*[!0-9]*) major=0;; esac; \
	  [ "$$major" -ge $(NODE_MINIMUM) ] || { \
	    echo "node is $${version:-unknown (node --version printed nothing)} ($$(command -v node)): Node.js >= $(NODE_MINIMUM) with npm is needed (only to install the pinned Node.js 22); put one first on PATH, then repeat" >&2; exit 2; }

python-check:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python $(SUPPORTED_PYTHONS) (python3 on PATH), then repeat" >&2; exit 2; }
	@version=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  case " $(SUPPORTED_PYTHONS) " in *" $$version "*) ;; *) \
	    echo "$(PYTHON) is Python $$version: supported are $(SUPPORTED_PYTHONS); put one of them first on PATH or run make PYTHON=python3.12 ..." >&2; exit 2;; esac

# A changed lock reinstalls what was there: with the CLI if it was installed.
node_modules/.synced: package-lock.json | $(GOAL_CHECKS) prerequisites
	@if [ -f node_modules/.cli-synced ]; then \
	  echo "$(NPM_CI)"; $(NPM_CI) && touch $@ node_modules/.cli-synced; \
	else \
	  echo "$(NPM_CI) --omit=dev"; $(NPM_CI) --omit=dev && touch $@; \
	fi
	@node_modules/.bin/node --version

node_modules/.cli-synced: package-lock.json | $(GOAL_CHECKS) prerequisites
	$(NPM_CI)
	@touch node_modules/.synced $@
	@node_modules/.bin/node -p '"cdktf-cli " + require("./node_modules/cdktf-cli/package.json").version'

clean:
	rm -rf cdktf.out .venv .tools node_modules
