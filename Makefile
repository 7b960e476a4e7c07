# routelab developer tasks. Needs only python3 (>= 3.11, with venv and pip) and GNU make.
#
#   make venv    .venv from the hash-checked lock files (fast no-op when nothing changed)
#   make test    ruff lint + format check, mypy on a non-editable copy, pytest   (CI: `make -k test`)
#   make demo    the demo commands listed in DEMO_COMMANDS below
#   make fmt     ruff format + ruff check --fix
#   make lock    re-resolve requirements/*.lock with uv (keeps current pins; add LOCK_FLAGS=--upgrade to bump)
#   make clean   build/type-check/test caches;  make distclean  also removes .venv
#
# Every package in .venv comes from requirements/*.lock with --require-hashes: a release swapped on the
# index after we locked (litellm once shipped a compromised one) fails the install instead of running.
# The locks change only through `make lock`, run on purpose and reviewed in the diff.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK_FLAGS ?=
UV_COMPILE = $(BIN)/uv pip compile --generate-hashes --python-version 3.11 \
	--no-header $(LOCK_FLAGS)

# ---- demo -----------------------------------------------------------------------------------------
# Plain `routelab` commands, one per line, run in order; each must exit 0. No scripts: every step is a
# command a user could type. Add a line here when a CLI command worth showing lands.
EXAMPLES := router_core/examples
DEMO_DB ?= routelab-demo.duckdb
define DEMO_COMMANDS
$(BIN)/routelab router validate $(EXAMPLES)/acme_v1.yaml $(EXAMPLES)/acme_v2.yaml $(EXAMPLES)/acme_v3.yaml
$(BIN)/routelab demo --db $(DEMO_DB) --force
$(BIN)/routelab router list --db $(DEMO_DB)
$(BIN)/routelab router diff acme-gateway@1 acme-gateway@2 --db $(DEMO_DB)
$(BIN)/routelab drift acme-gateway@3 --db $(DEMO_DB)
$(BIN)/routelab report acme-gateway@1 acme-gateway@2 --db $(DEMO_DB) --out build/demo-report.html
$(BIN)/routelab app --db $(DEMO_DB)
endef

.PHONY: venv test lint typecheck pytest demo fmt lock clean distclean

# ---- environment ----------------------------------------------------------------------------------
venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# build.lock first: pip, setuptools and wheel, hash-checked, so the rest installs with a current pip.
# The project itself goes in editable with --no-deps (its dependencies came from the lock) and
# --no-build-isolation (an isolated build would fetch setuptools from the index without hashes).
# `pip check` catches a lock that no longer covers pyproject.toml (someone added a dependency).
$(STAMP): requirements/build.lock requirements/dev.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r requirements/build.lock
	$(BIN)/python -m pip install -q --require-hashes -r requirements/dev.lock
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	@$(BIN)/python -m pip check || { \
		echo "requirements/dev.lock does not satisfy pyproject.toml: run 'make lock' and commit the locks" >&2; \
		exit 1; }
	@touch $@

# ---- checks ---------------------------------------------------------------------------------------
# CI runs `make -k test` so that a lint failure does not hide the test results.
test: lint typecheck pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy does not follow the editable install's import hook, so it checks a throw-away non-editable copy.
typecheck: venv
	rm -rf .typecheck
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation --target .typecheck .
	MYPYPATH=.typecheck $(BIN)/mypy -p routelab.router_core -p routelab.evaluators

# One pytest worker per core (pytest-xdist), whole files per worker so a module's fixtures are built once:
# 7.4–15.9 min (by the hour) instead of 21 min on the 2-core machine (much of a serial run waits on servers, browsers and child
# processes). PYTEST_WORKERS=0 runs serially; `pytest FILE` on its own is serial too.
PYTEST_WORKERS ?= auto
pytest: venv
	LITELLM_LOCAL_MODEL_COST_MAP=True $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

demo: venv
	$(DEMO_COMMANDS)

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# ---- locks ----------------------------------------------------------------------------------------
# dev.lock is resolved first (project + dev and ray extras + build tools); runtime.lock and build.lock are then
# constrained by it, so one package has one version in all three files.
# uv keeps the pins already in an output file unless LOCK_FLAGS=--upgrade (or --upgrade-package NAME).
lock: | $(BIN)/python
	test -x $(BIN)/uv || $(BIN)/python -m pip install -q uv
	$(UV_COMPILE) pyproject.toml requirements/build.in --extra dev --extra ray -o requirements/dev.lock
	$(UV_COMPILE) pyproject.toml -c requirements/dev.lock -o requirements/runtime.lock
	$(UV_COMPILE) requirements/build.in -c requirements/dev.lock -o requirements/build.lock
	$(call lock_header,requirements/dev.lock,pyproject.toml [project].dependencies + [dev] and [ray] extras + requirements/build.in)
	$(call lock_header,requirements/runtime.lock,pyproject.toml [project].dependencies)
	$(call lock_header,requirements/build.lock,requirements/build.in (pip + build backend for --no-build-isolation))

define lock_header
	@{ echo "# $(1): generated by 'make lock' with uv from $(2)."; \
	   echo "# Pinned with hashes, installed with pip --require-hashes. Do not edit by hand: change pyproject.toml"; \
	   echo "# (or requirements/build.in), run 'make lock' (LOCK_FLAGS=--upgrade bumps every pin), review the diff."; \
	   cat $(1); } > $(1).tmp && mv $(1).tmp $(1)
endef

# ---- cleaning -------------------------------------------------------------------------------------
clean:
	rm -rf .typecheck build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
